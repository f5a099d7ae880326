type Handler = (...args: never[]) => void;
export type EventMap<E> = { [K in keyof E]: Handler };

/** A small typed emitter (no Node `events` in browser code). */
export class TypedEmitter<E extends EventMap<E>> {
  private readonly handlers = new Map<keyof E, Set<E[keyof E]>>();

  on<K extends keyof E>(event: K, handler: E[K]): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler);
    return () => this.off(event, handler);
  }

  once<K extends keyof E>(event: K, handler: E[K]): () => void {
    const wrapper = ((...args: Parameters<E[K]>) => {
      off();
      (handler as (...a: Parameters<E[K]>) => void)(...args);
    }) as unknown as E[K];
    const off = this.on(event, wrapper);
    return off;
  }

  off<K extends keyof E>(event: K, handler: E[K]): void {
    this.handlers.get(event)?.delete(handler);
  }

  removeAllListeners(): void {
    this.handlers.clear();
  }

  protected emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    for (const handler of [...(this.handlers.get(event) ?? [])]) {
      try {
        (handler as (...a: Parameters<E[K]>) => void)(...args);
      } catch (error) {
        // One faulty listener must not break the emitter or the other listeners.
        console.error(`[emitter] ${String(event)} listener threw`, error);
      }
    }
  }
}
