import { SfuRoomElement } from "./sfu-room.ts";

if (!customElements.get("sfu-room")) customElements.define("sfu-room", SfuRoomElement);
