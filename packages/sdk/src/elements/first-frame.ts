/**
 * `<video ${markFirstFrame(room)}>` on remote videos: performance.mark("sfu-room:first-remote-frame")
 * when the first remote video of a join has its first decoded frame, once per Room (one Room is one
 * join). With the "sfu-room:join" mark it gives the time to first frame (docs/element.md).
 */
import { noChange } from "lit";
import { Directive, directive, PartType, type ElementPart, type PartInfo } from "lit/directive.js";
import type { Room } from "../room/index.ts";

const marked = new WeakSet<Room>();

function mark(room: Room): void {
  if (marked.has(room)) return;
  marked.add(room);
  performance.mark("sfu-room:first-remote-frame");
}

class MarkFirstFrame extends Directive {
  #watching: Room | undefined;

  constructor(part: PartInfo) {
    super(part);
    if (part.type !== PartType.ELEMENT) throw new Error("markFirstFrame() belongs on an element: <video ${markFirstFrame(room)}>");
  }

  render(_room: Room | undefined): unknown {
    return noChange;
  }

  override update(part: ElementPart, [room]: [Room | undefined]): unknown {
    if (!room || marked.has(room) || room === this.#watching) return noChange;
    this.#watching = room;
    const video = part.element as HTMLVideoElement;
    // loadeddata: the first decoded frame reached the element (it fires in background tabs too).
    if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) mark(room);
    else video.addEventListener("loadeddata", () => mark(room), { once: true });
    return noChange;
  }
}

export const markFirstFrame = directive(MarkFirstFrame);
