/**
 * <sfu-chat for="call"></sfu-chat>   (or chat.room = someSfuRoomElementOrRoom)
 *
 * A small text chat over the room's reliable data channel (topic "chat" by default): the messages with
 * their senders' names, a text field that sends on Enter. Touch-sized controls; fits a 390 px phone.
 * Fires `chat-message` (bubbles, composed) for every message shown, sent or received.
 */
import { html, LitElement, nothing, type PropertyDeclarations, type PropertyValues, type TemplateResult } from "lit";
import { createRef, ref } from "lit/directives/ref.js";
import { repeat } from "lit/directives/repeat.js";
import type { DataEvent } from "../room/index.ts";
import { type ChatSource, type ChatTarget, chatSource } from "./chat-source.ts";
import { chatStyles } from "./chat-styles.ts";

export interface ChatMessage {
  /** Local sequence number. */
  id: number;
  /** Sender's participant id. */
  from: string;
  name: string;
  text: string;
  self: boolean;
  /** Date.now() when shown. */
  at: number;
}

/** Messages kept on screen; older ones are dropped. */
const MAX_MESSAGES = 200;
const MAX_TEXT = 2000;

export class SfuChatElement extends LitElement {
  static override styles = chatStyles;
  static override properties: PropertyDeclarations = {
    for: { type: String },
    room: { attribute: false },
    topic: { type: String },
    placeholder: { type: String },
    entries: { state: true },
    source: { state: true },
    sending: { state: true },
    sendError: { state: true },
  };

  /** id of the <sfu-room> element to chat in (looked up in the same document or shadow root). */
  declare for: string;
  /** The room to chat in, set directly: an <sfu-room> element or a headless Room. Wins over `for`. */
  declare room: ChatTarget | undefined;
  /** Data topic of the chat messages (default "chat"). */
  declare topic: string;
  declare placeholder: string;
  /** The messages shown, oldest first. */
  declare protected entries: readonly ChatMessage[];
  /** The room being chatted in (from `room` or `for`). */
  declare protected source: ChatSource | undefined;
  /** A message is on its way: the Send button waits. */
  declare protected sending: boolean;
  /** Why the last message could not be sent. */
  declare protected sendError: string;

  #nextId = 0;
  #target: ChatTarget | undefined;
  #unwatch: (() => void) | undefined;
  #finder: MutationObserver | undefined;
  readonly #log = createRef<HTMLOListElement>();
  readonly #input = createRef<HTMLInputElement>();

  constructor() {
    super();
    this.for = "";
    this.room = undefined;
    this.topic = "chat";
    this.placeholder = "Message";
    this.entries = [];
    this.source = undefined;
    this.sending = false;
    this.sendError = "";
  }

  /** The messages shown, oldest first. */
  get messages(): readonly ChatMessage[] {
    return this.entries;
  }

  /** Sends a chat message as if typed; resolves when handed to the data channel, rejects with a RoomError. */
  async sendMessage(text: string): Promise<void> {
    const body = text.trim().slice(0, MAX_TEXT);
    const source = this.source;
    if (!body || !source) return;
    await source.send(body, this.topic);
    this.#add({ from: source.localId(), name: source.localName() || "You", text: body, self: true });
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#resolve();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#bind(undefined);
    this.#finder?.disconnect();
    this.#finder = undefined;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("room") || changed.has("for")) this.#resolve();
  }

  protected override updated(): void {
    const log = this.#log.value;
    if (log && this.#stick) log.scrollTop = log.scrollHeight;
  }

  /** Keep the newest message in view unless the user scrolled up to read. */
  #stick = true;

  #resolve(): void {
    if (!this.isConnected) return;
    if (this.room) {
      this.#finder?.disconnect();
      this.#finder = undefined;
      this.#bind(this.room);
      return;
    }
    const root = this.getRootNode() as Document | ShadowRoot;
    const found = this.for ? root.getElementById(this.for) : null;
    const target = found && found.localName === "sfu-room" ? (found as ChatTarget) : undefined;
    this.#bind(target);
    if (!target && this.for && !this.#finder) {
      // The room element may be added later (e.g. after a pre-join form): watch for it.
      this.#finder = new MutationObserver(() => {
        if (root.getElementById(this.for)) {
          this.#finder?.disconnect();
          this.#finder = undefined;
          this.#resolve();
        }
      });
      this.#finder.observe(root, { childList: true, subtree: true });
    }
  }

  #bind(target: ChatTarget | undefined): void {
    if (target === this.#target) return;
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#target = target;
    this.source = target ? chatSource(target) : undefined;
    this.#unwatch = this.source?.watch(
      (event) => this.#onData(event),
      () => this.requestUpdate(), // joined or left: source.connected() says something new
    );
  }

  #onData(event: DataEvent): void {
    if (event.topic !== this.topic || typeof event.payload !== "string") return;
    const name = event.participant?.name || "Guest";
    this.#add({ from: event.from, name, text: event.payload.slice(0, MAX_TEXT), self: false });
  }

  #add(message: Omit<ChatMessage, "id" | "at">): void {
    const log = this.#log.value;
    this.#stick = !log || log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    const full: ChatMessage = { ...message, id: ++this.#nextId, at: Date.now() };
    this.entries = [...this.entries.slice(-(MAX_MESSAGES - 1)), full];
    this.dispatchEvent(new CustomEvent("chat-message", { detail: full, bubbles: true, composed: true }));
  }

  async #submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const input = this.#input.value;
    if (!input || this.sending) return;
    const text = input.value;
    if (!text.trim()) return;
    this.sending = true;
    this.sendError = "";
    try {
      this.#stick = true;
      await this.sendMessage(text);
      input.value = "";
    } catch (e) {
      this.sendError = e instanceof Error ? e.message : String(e);
    } finally {
      this.sending = false;
      await this.updateComplete;
      input.focus();
    }
  }

  protected override render(): TemplateResult {
    const connected = this.source?.connected() ?? false;
    return html`<ol class="log" part="log" aria-live="polite" aria-label="Chat messages" ${ref(this.#log)}>
        ${this.entries.length === 0
          ? html`<li class="empty" part="empty">${connected ? "No messages yet." : "Join the room to chat."}</li>`
          : repeat(
              this.entries,
              (m) => m.id,
              (m) => html`<li class="message" part=${m.self ? "message message-self" : "message"} ?data-self=${m.self} data-from=${m.from}>
                <div class="meta"><span class="sender" part="sender">${m.self ? "You" : m.name}</span><time>${clock(m.at)}</time></div>
                <p class="text" part="text">${m.text}</p>
              </li>`,
            )}
      </ol>
      <form part="form" @submit=${(e: SubmitEvent) => void this.#submit(e)}>
        <input
          ${ref(this.#input)}
          part="input"
          type="text"
          name="message"
          autocomplete="off"
          enterkeyhint="send"
          maxlength=${MAX_TEXT}
          aria-label="Message"
          placeholder=${this.placeholder}
          ?disabled=${!connected}
        />
        <button part="send" type="submit" ?disabled=${!connected || this.sending}>Send</button>
      </form>
      ${this.sendError ? html`<p class="error" part="error" role="alert">${this.sendError}</p>` : nothing}`;
  }
}

function clock(at: number): string {
  const d = new Date(at);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

declare global {
  interface HTMLElementTagNameMap {
    "sfu-chat": SfuChatElement;
  }
  interface HTMLElementEventMap {
    "chat-message": CustomEvent<ChatMessage>;
  }
}
