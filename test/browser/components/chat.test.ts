/** <sfu-chat>: attached by `for` or by `room` (element or headless Room), sends on Enter, fits a phone. */
import { expect } from "@open-wc/testing";
import { Room, type SfuChatElement, type SfuRoomElement } from "@sfu-room/sdk";
import { config, mediaNetwork, mount, nextEvent, uniqueRoom, unmountAll, until } from "./helpers.ts";

const chats: HTMLElement[] = [];

function mountChat(attach: { for: string } | { room: SfuRoomElement | Room }, width = 390): SfuChatElement {
  const box = document.createElement("div");
  box.style.cssText = `width:${width}px;height:300px;`;
  const chat = document.createElement("sfu-chat");
  if ("for" in attach) chat.setAttribute("for", attach.for);
  else chat.room = attach.room;
  box.append(chat);
  document.body.append(box);
  chats.push(box);
  return chat;
}

function texts(chat: SfuChatElement): string[] {
  return Array.from(chat.shadowRoot!.querySelectorAll(".message")).map((m) => `${m.querySelector(".sender")!.textContent}: ${m.querySelector(".text")!.textContent}`);
}

async function typeAndEnter(chat: SfuChatElement, text: string): Promise<void> {
  const input = chat.shadowRoot!.querySelector("input")!;
  input.value = text;
  // Enter in the field submits its form, as a keyboard would.
  chat.shadowRoot!.querySelector("form")!.requestSubmit();
  await until("the field is cleared after sending", () => input.value === "");
}

describe("<sfu-chat>", function () {
  this.timeout(60_000);
  before(function () {
    if (!mediaNetwork) this.skip();
  });
  afterEach(async () => {
    for (const box of chats.splice(0)) box.remove();
    await unmountAll();
  });

  it("chats between an element attached with `for` and one attached to a headless Room", async () => {
    const roomName = uniqueRoom("chat");
    const ada = mount({ server: config.relay, room: roomName, name: "Ada", audio: "off", video: "off" }, { width: 390, height: 300 });
    ada.id = "ada-room";
    const adaChat = mountChat({ for: "ada-room" });
    await nextEvent(ada, "joined");
    const bob = new Room();
    const bobChat = mountChat({ room: bob });
    try {
      await bob.connect(config.relay, roomName, { name: "Bob", audio: false, video: false });
      await until("data channels open", () =>
        [ada.session!.peerConnections.subscriber, bob.peerConnections.subscriber].every((pc) => pc?.sctp?.state === "connected"),
      );
      await adaChat.updateComplete;
      expect(adaChat.shadowRoot!.querySelector("input")!.disabled).to.equal(false);

      const shown = new Promise<string>((resolve) => bobChat.addEventListener("chat-message", (e) => resolve(e.detail.text), { once: true }));
      await typeAndEnter(adaChat, "Hi Bob");
      expect(await shown).to.equal("Hi Bob");
      await bobChat.updateComplete;
      expect(texts(bobChat)).to.deep.equal(["Ada: Hi Bob"]);
      expect(texts(adaChat)).to.deep.equal(["You: Hi Bob"]);

      await typeAndEnter(bobChat, "Hello Ada");
      await until("Ada sees Bob's answer", async () => {
        await adaChat.updateComplete;
        return texts(adaChat).length === 2;
      });
      expect(texts(adaChat)).to.deep.equal(["You: Hi Bob", "Bob: Hello Ada"]);
      // Other topics are not chat.
      await bob.send("not chat", { topic: "cursor" });
      await new Promise((r) => setTimeout(r, 300));
      expect(adaChat.messages).to.have.length(2);

      // A phone: nothing sticks out, the field and the button are touch-sized.
      const box = adaChat.getBoundingClientRect();
      for (const part of ["input", "button", ".log", "form"]) {
        const r = adaChat.shadowRoot!.querySelector(part)!.getBoundingClientRect();
        expect(r.right, `${part} overflows`).to.be.at.most(box.right + 0.5);
        if (part === "input" || part === "button") expect(r.height, `${part} height`).to.be.at.least(44);
      }
      expect(adaChat.shadowRoot!.querySelector<HTMLElement>(".log")!.scrollWidth).to.be.at.most(390);
    } finally {
      await bob.disconnect();
    }
  });
});
