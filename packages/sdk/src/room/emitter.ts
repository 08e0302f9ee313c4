/** A tiny typed event emitter (no DOM EventTarget, so the Room API works the same in workers and tests). */
export type Listener<T> = (payload: T) => void;

export class Emitter<EventMap extends object> {
  readonly #listeners = new Map<keyof EventMap, Set<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof EventMap>(type: K, listener: Listener<EventMap[K]>): () => void {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  once<K extends keyof EventMap>(type: K, listener: Listener<EventMap[K]>): () => void {
    const off = this.on(type, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<K extends keyof EventMap>(type: K, listener: Listener<EventMap[K]>): void {
    this.#listeners.get(type)?.delete(listener as Listener<never>);
  }

  protected emit<K extends keyof EventMap>(type: K, payload: EventMap[K]): void {
    const set = this.#listeners.get(type);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<EventMap[K]>)(payload);
      } catch (e) {
        // A listener's bug must not break the room: report it asynchronously, like DOM events do.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
