/**
 * A bounded least-recently-used cache of async results that also merges
 * concurrent requests for the same key into one call. Failures are not
 * cached: the next request calls again.
 */
export class AsyncLru<V> {
  private readonly done = new Map<string, V>();
  private readonly pending = new Map<string, Promise<V>>();
  hits = 0;
  misses = 0;

  constructor(readonly maxEntries: number) {
    if (!(maxEntries >= 1)) throw new RangeError("maxEntries must be at least 1");
  }

  get size(): number {
    return this.done.size;
  }

  /** The cached value, or the in-flight call for this key, or a new call of `load`. */
  get(key: string, load: () => Promise<V>): Promise<V> {
    if (this.done.has(key)) {
      const value = this.done.get(key) as V;
      // Refresh its place: Map iteration order is insertion order.
      this.done.delete(key);
      this.done.set(key, value);
      this.hits++;
      return Promise.resolve(value);
    }
    const inFlight = this.pending.get(key);
    if (inFlight) {
      this.hits++;
      return inFlight;
    }
    this.misses++;
    const call = (async () => load())();
    this.pending.set(key, call);
    call.then(
      (value) => {
        this.pending.delete(key);
        this.done.set(key, value);
        while (this.done.size > this.maxEntries) this.done.delete(this.done.keys().next().value as string);
      },
      () => this.pending.delete(key),
    );
    return call;
  }
}

/** The cache key of one translation. */
export function translationKey(engine: string, source: string, target: string, sentence: string): string {
  return `${engine}\u0000${source}\u0000${target}\u0000${sentence}`;
}
