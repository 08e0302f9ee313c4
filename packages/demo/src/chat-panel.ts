/**
 * The demo's chat panel: <sfu-chat> with a header button that collapses it. On phones the panel sits
 * below the call and starts collapsed, with a count of unread messages; on wider screens it sits beside
 * the call, open.
 */
import "@sfu-room/sdk/element";

const PHONE = window.matchMedia("(max-width: 719px)");

export function chatPanel(roomId: string): HTMLElement {
  const panel = document.createElement("aside");
  panel.className = "chat-panel";
  panel.setAttribute("aria-label", "Chat");
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "chat-toggle";
  toggle.id = "chat-toggle";
  const label = document.createElement("span");
  label.textContent = "Chat";
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.hidden = true;
  toggle.append(label, badge);
  const chat = document.createElement("sfu-chat");
  chat.setAttribute("for", roomId);
  panel.append(toggle, chat);

  let unread = 0;
  const setOpen = (open: boolean) => {
    panel.toggleAttribute("data-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    chat.hidden = !open;
    if (open) unread = 0;
    badge.hidden = unread === 0;
    badge.textContent = String(unread);
  };
  toggle.addEventListener("click", () => setOpen(!panel.hasAttribute("data-open")));
  chat.addEventListener("chat-message", (e) => {
    if (panel.hasAttribute("data-open") || e.detail.self) return;
    unread++;
    badge.hidden = false;
    badge.textContent = String(unread);
  });
  setOpen(!PHONE.matches);
  return panel;
}
