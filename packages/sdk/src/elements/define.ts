import { SfuChatElement } from "./sfu-chat.ts";
import { SfuRoomElement } from "./sfu-room.ts";

if (!customElements.get("sfu-room")) customElements.define("sfu-room", SfuRoomElement);
if (!customElements.get("sfu-chat")) customElements.define("sfu-chat", SfuChatElement);
