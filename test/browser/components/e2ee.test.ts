/**
 * End-to-end encryption with the headless API in real browsers (Chromium and Firefox): two Rooms with
 * KeyProviders; a key rotation on the sender, which the receiver follows once it has the new key.
 * (test/browser/e2e/e2ee.e2e.ts checks the picture, what the relay forwards, wrong keys and simulcast.)
 */
import { expect } from "@open-wc/testing";
import { KeyProvider, type Room, type RoomEvents } from "@sfu-room/sdk";
import { config, disconnectRooms, mediaNetwork, newRoom, uniqueRoom, until } from "./helpers.ts";

async function framesDecoded(room: Room): Promise<number> {
  let frames = 0;
  for (const p of room.participants.values()) for (const t of p.videoTracks) frames += (await t.getStats())?.framesDecoded ?? 0;
  return frames;
}

describe("end-to-end encryption (headless API)", function () {
  before(function () {
    if (!mediaNetwork) this.skip();
  });
  afterEach(disconnectRooms);

  it("decodes with the same key, stops at a key index it lacks (missing-key), and goes on once it has it", async () => {
    const name = uniqueRoom("e2ee");
    const adaKeys = new KeyProvider();
    const bobKeys = new KeyProvider();
    await adaKeys.setKey("first passphrase");
    await bobKeys.setKey("first passphrase");
    const ada = newRoom();
    const bob = newRoom();
    const states: Array<RoomEvents["e2ee-state-changed"]["state"]> = [];
    bob.on("e2ee-state-changed", ({ state }) => states.push(state));
    await ada.connect(config.relay, name, { name: "Ada", audio: false, e2ee: { keyProvider: adaKeys } });
    await bob.connect(config.relay, name, { name: "Bob", audio: false, video: false, e2ee: { keyProvider: bobKeys } });
    await until("Bob decodes Ada's encrypted camera", async () => (await framesDecoded(bob)) > 5);
    expect(states).to.deep.equal(["ok"]);

    // Ada rotates to key 1 before Bob has it: his frames stop opening.
    await adaKeys.setKey("second passphrase", 1);
    adaKeys.useKey(1);
    await until("Bob hears missing-key", () => states.at(-1) === "missing-key");
    await new Promise((r) => setTimeout(r, 500));
    const stalled = await framesDecoded(bob);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await framesDecoded(bob)).to.equal(stalled);

    await bobKeys.setKey("second passphrase", 1);
    await until("Bob's frames open again", () => states.at(-1) === "ok");
    await until("and decode", async () => (await framesDecoded(bob)) > stalled + 5);
    expect(states).to.deep.equal(["ok", "missing-key", "ok"]);
  });
});
