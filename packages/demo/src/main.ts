/**
 * The demo page: a small form for the name, then <sfu-room prejoin> exactly as any page would use it
 * (its pre-join view: camera preview, devices, microphone level, Join), with an <sfu-chat> panel beside
 * it (below it, collapsible, on phones).
 * The room comes from ?room= (default "lobby"), the relay from ?server= (default ws://<host>:7880/ws),
 * the token from ?token= or else the relay's development endpoint (npm start).
 */
import "@sfu-room/sdk/element";
import type { SfuRoomElement } from "@sfu-room/sdk/element";
import { readConfig } from "./config.ts";
import { chatPanel } from "./chat-panel.ts";
import { fetchDevToken } from "./dev-token.ts";

const config = readConfig(window.location);
const form = document.querySelector<HTMLFormElement>("#prejoin")!;
const nameInput = document.querySelector<HTMLInputElement>("#name")!;
document.querySelector("#room-name")!.textContent = config.room;
document.querySelector("#relay-url")!.textContent = config.server;
nameInput.value = config.name || localStorage.getItem("sfu-room-demo:name") || "";

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = nameInput.value.trim();
  if (!name) return;
  localStorage.setItem("sfu-room-demo:name", name);
  const token = config.attributes.token ?? (await fetchDevToken(config.server, config.room, name));
  const call = document.createElement("div");
  call.className = "call";
  const room: SfuRoomElement = document.createElement("sfu-room");
  room.id = "room";
  room.prejoin = config.prejoin;
  for (const [key, value] of Object.entries(config.attributes)) room.setAttribute(key, value);
  room.setAttribute("server", config.server);
  room.setAttribute("room", config.room);
  room.setAttribute("name", name);
  if (token !== undefined) room.setAttribute("token", token);
  room.addEventListener("joined", (e) => console.info(`[demo] joined ${e.detail.room} as ${e.detail.participantId}`));
  room.addEventListener("error", (e) => console.warn(`[demo] ${e.detail.code}: ${e.detail.message}`));
  call.append(room, chatPanel("room"));
  form.replaceWith(call);
});
