/**
 * How an element that shows a remote video is seen: its size in device pixels (ResizeObserver) and
 * whether anyone can see it (IntersectionObserver for scrolled away or hidden, `document.hidden` for a
 * background tab). Picture-in-picture counts as visible, at the size of its window.
 */

export interface ElementView {
  /** Device pixels. */
  width: number;
  height: number;
  visible: boolean;
}

interface PipWindow extends EventTarget {
  width: number;
  height: number;
}

/** Calls `report` whenever the view changes (first once both size and visibility are known); returns a stop function. */
export function observeElementView(element: HTMLElement, report: (view: ElementView) => void): () => void {
  let size: { width: number; height: number } | undefined;
  let intersecting: boolean | undefined;
  let pip: PipWindow | undefined;
  let last = "";

  const emit = () => {
    if (size === undefined || intersecting === undefined) return;
    const pageVisible = typeof document === "undefined" || !document.hidden;
    const dpr = typeof devicePixelRatio === "number" ? devicePixelRatio : 1;
    const view: ElementView = pip
      ? { width: Math.round(pip.width * dpr), height: Math.round(pip.height * dpr), visible: true }
      : { ...size, visible: pageVisible && intersecting && size.width > 0 && size.height > 0 };
    const key = `${view.width}x${view.height}:${view.visible}`;
    if (key === last) return;
    last = key;
    report(view);
  };

  const resize =
    typeof ResizeObserver === "undefined"
      ? undefined
      : new ResizeObserver((entries) => {
          const entry = entries[entries.length - 1];
          if (!entry) return;
          const device = entry.devicePixelContentBoxSize?.[0];
          const dpr = typeof devicePixelRatio === "number" ? devicePixelRatio : 1;
          size = device
            ? { width: Math.round(device.inlineSize), height: Math.round(device.blockSize) }
            : { width: Math.round(entry.contentRect.width * dpr), height: Math.round(entry.contentRect.height * dpr) };
          emit();
        });
  try {
    resize?.observe(element, { box: "device-pixel-content-box" });
  } catch {
    resize?.observe(element); // browsers without device-pixel-content-box
  }
  if (!resize) size = { width: 0, height: 0 };

  const intersection =
    typeof IntersectionObserver === "undefined"
      ? undefined
      : new IntersectionObserver((entries) => {
          const entry = entries[entries.length - 1];
          if (!entry) return;
          intersecting = entry.isIntersecting;
          emit();
        });
  intersection?.observe(element);
  if (!intersection) intersecting = true;

  const onVisibility = () => emit();
  const onPipResize = () => emit();
  const onEnterPip = (event: Event) => {
    pip = (event as Event & { pictureInPictureWindow?: PipWindow }).pictureInPictureWindow;
    pip?.addEventListener("resize", onPipResize);
    emit();
  };
  const onLeavePip = () => {
    pip?.removeEventListener("resize", onPipResize);
    pip = undefined;
    emit();
  };
  document.addEventListener("visibilitychange", onVisibility);
  element.addEventListener("enterpictureinpicture", onEnterPip);
  element.addEventListener("leavepictureinpicture", onLeavePip);

  return () => {
    resize?.disconnect();
    intersection?.disconnect();
    document.removeEventListener("visibilitychange", onVisibility);
    element.removeEventListener("enterpictureinpicture", onEnterPip);
    element.removeEventListener("leavepictureinpicture", onLeavePip);
    pip?.removeEventListener("resize", onPipResize);
  };
}
