/**
 * Sends at most `ratePerSecond` messages per second (burst `burst`), in
 * order; what is over the budget waits for the next token. KVS allows one
 * signaling connection 5 SDP offers/answers and 20 ICE candidates per second,
 * and the embedded relay enforces the same: a speaker answering many
 * listeners at once must pace its answers rather than see them refused.
 */
export class Pacer {
  private tokens: number;
  private refilledAt: number;
  private readonly queue: (() => void)[] = [];
  private timer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number = ratePerSecond,
    private readonly now: () => number = () => Date.now(),
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new RangeError("Pacer needs a positive rate and a burst of at least 1");
    this.tokens = burst;
    this.refilledAt = now();
  }

  /** Messages waiting for a token. */
  get pending(): number {
    return this.queue.length;
  }

  /** Runs `send` now when the budget allows (and nothing waits before it), else when a token comes. */
  schedule(send: () => void): void {
    this.queue.push(send);
    this.drain();
  }

  /** Drops everything still waiting. */
  clear(): void {
    this.queue.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private refill(): void {
    const t = this.now();
    const elapsed = Math.max(0, t - this.refilledAt);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    this.refilledAt = t;
  }

  private drain(): void {
    if (this.timer !== undefined) return; // a wake-up is already due
    this.refill();
    while (this.queue.length > 0 && this.tokens >= 1) {
      this.tokens -= 1;
      const send = this.queue.shift()!;
      try {
        send();
      } catch (error) {
        console.error("[rtc] paced send failed", error);
      }
    }
    if (this.queue.length > 0) {
      const wait = Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, wait);
    }
  }
}
