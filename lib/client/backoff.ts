/**
 * When to retry a dropped connection: the policy the control channel and
 * the WebRTC master and viewer share, and when to replace a connection
 * before a server-side cap.
 */

export interface ReconnectContext {
  /** Retries made since the connection dropped (0 before the first). */
  retryCount: number;
  /** Milliseconds since the connection dropped. */
  elapsedMs: number;
  /** The close code of the last socket, when it closed with one. */
  closeCode?: number;
}

/** Decides how long to wait before the next retry; `null` gives up. */
export interface ReconnectPolicy {
  nextRetryDelayMs(context: ReconnectContext): number | null;
}

export interface BackoffOptions {
  /** First ceiling, ms (default 500). */
  baseDelayMs?: number;
  /** Largest ceiling, ms (default 10 000). */
  maxDelayMs?: number;
  /** Give up after this many retries (default: never by count). */
  maxRetries?: number;
  /** Give up after being disconnected this long, ms (default 10 minutes). */
  maxElapsedMs?: number;
  /**
   * For the first `fastWindowMs` (default 120 000) after a drop the ceiling is at
   * most `fastCeilingMs` (default 1 500): a server that restarts (2-7 s) or a
   * network that comes back is found within about a second of answering again,
   * and a crowd still arrives spread over that window, not in lockstep (a
   * server that is down only refuses connections, which costs it nothing).
   * Two minutes: a server start on a loaded machine has taken 50 s. After the
   * window the ceiling grows on to `maxDelayMs`.
   */
  fastCeilingMs?: number;
  fastWindowMs?: number;
  /** After a server restart (1012) the first retry waits a random time below this, ms (default 1 000): a crowd is spread. */
  restartSpreadMs?: number;
  /** [0, 1) source, for tests. */
  random?: () => number;
}

/** The server announced a restart. */
export const RESTART_CLOSE_CODE = 1012;

/**
 * Exponential backoff with full jitter: the n-th retry waits a uniform random
 * time in [0, min(maxDelay, base * 2^n)), so a crowd of listeners dropped at
 * once (a server restart, a venue's Wi-Fi) does not come back in lockstep.
 */
export class DefaultReconnectPolicy implements ReconnectPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetries: number;
  readonly maxElapsedMs: number;
  readonly fastCeilingMs: number;
  readonly fastWindowMs: number;
  readonly restartSpreadMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.maxRetries = options.maxRetries ?? Number.POSITIVE_INFINITY;
    this.maxElapsedMs = options.maxElapsedMs ?? 10 * 60_000;
    this.fastCeilingMs = options.fastCeilingMs ?? 1_500;
    this.fastWindowMs = options.fastWindowMs ?? 120_000;
    this.restartSpreadMs = options.restartSpreadMs ?? 1_000;
    this.random = options.random ?? Math.random;
  }

  /** The upper bound of the n-th wait, `elapsedMs` after the drop. */
  ceilingMs(retryCount: number, elapsedMs = Number.POSITIVE_INFINITY): number {
    const grown = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(retryCount, 30));
    return elapsedMs < this.fastWindowMs ? Math.min(grown, this.fastCeilingMs) : grown;
  }

  nextRetryDelayMs({ retryCount, elapsedMs, closeCode }: ReconnectContext): number | null {
    if (retryCount >= this.maxRetries || elapsedMs >= this.maxElapsedMs) return null;
    if (retryCount === 0 && closeCode === RESTART_CLOSE_CODE) return Math.floor(this.random() * this.restartSpreadMs);
    return Math.floor(this.random() * this.ceilingMs(retryCount, elapsedMs));
  }
}

/**
 * When to replace a connection the server closes at `maxConnectionMs`: a
 * margin of a quarter of the cap, at most 5 minutes, minus up to a tenth of
 * the margin at random (a crowd joined at once is not replaced at once).
 */
export function replacementDelayMs(maxConnectionMs: number, random: () => number = Math.random): number {
  const margin = Math.min(5 * 60_000, maxConnectionMs * 0.25);
  return Math.max(1_000, maxConnectionMs - margin - random() * margin * 0.1);
}
