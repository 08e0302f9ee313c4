/** The relay's webhooks: each core room event, as a LiveKit-shaped body, to every configured URL. */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { RoomEventOutput } from "../core/index.ts";
import type { SigningKey } from "../signal/access-token.ts";
import { webhookBody } from "./webhook-event.ts";
import { DEFAULT_RETRY, type RetryPolicy, WebhookSender } from "./webhook-sender.ts";

export class Webhooks {
  readonly #senders: WebhookSender[];

  constructor(urls: readonly string[], key: SigningKey, log: Logger, retry: RetryPolicy = DEFAULT_RETRY) {
    this.#senders = urls.map((url) => new WebhookSender(url, key, log, retry));
  }

  /** Queues the event for every URL (called mid-drain: it only queues). */
  report(event: RoomEventOutput): void {
    const body = JSON.stringify(webhookBody(event, `EV_${randomBytes(9).toString("base64url")}`, Date.now()));
    for (const sender of this.#senders) sender.send(body);
  }

  close(flushMs = 0): Promise<void> {
    return Promise.all(this.#senders.map((s) => s.close(flushMs))).then(() => undefined);
  }
}
