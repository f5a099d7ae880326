/**
 * The translated-speech queue's policy, with no audio in it: which segment
 * plays next, when, how fast, and which are dropped. Time is a number of
 * milliseconds on any clock (the player passes its AudioContext's clock; the
 * unit test a fake one), so the policy is tested without a browser.
 *
 * - Segments play in `seq` order, one after another without a gap: each is
 *   scheduled to start where the previous one ends. At most `lookahead`
 *   segments are scheduled ahead of the clock (so rate and drop decisions stay
 *   open for the rest).
 * - The backlog is what is still to be heard: the rest of the scheduled
 *   segments (at their rates) plus the queued ones. Past `catchUpAfterMs` a
 *   segment is scheduled faster, the rate rising linearly to `maxRate` at
 *   `dropAfterMs`.
 * - Past `dropAfterMs`, the oldest queued (not yet scheduled) segments are
 *   dropped until the backlog is under it again; the newest is always kept.
 *   Their captions stay on screen (the caller only loses the audio).
 * - A segment older than one already scheduled arrives too late: dropped.
 */

export interface SpeechPolicy {
  /** Backlog above which playback speeds up, ms. */
  catchUpAfterMs: number;
  /** Fastest playback rate. */
  maxRate: number;
  /** Backlog above which the oldest queued segments are dropped, ms. */
  dropAfterMs: number;
  /** Segments scheduled ahead of the clock. */
  lookahead: number;
}

export const DEFAULT_SPEECH_POLICY: SpeechPolicy = { catchUpAfterMs: 3_000, maxRate: 1.25, dropAfterMs: 8_000, lookahead: 2 };

export interface QueuedSpeech<T> {
  seq: number;
  /** Duration at normal speed, ms. */
  durationMs: number;
  payload: T;
}

export interface ScheduledSpeech<T> extends QueuedSpeech<T> {
  /** Clock time the segment starts, ms. */
  startAt: number;
  /** Clock time it ends at its rate, ms. */
  endAt: number;
  rate: number;
}

/** The playback rate for a backlog (ms still to hear, the segment itself included). */
export function rateFor(backlogMs: number, policy: SpeechPolicy = DEFAULT_SPEECH_POLICY): number {
  if (backlogMs <= policy.catchUpAfterMs) return 1;
  const span = Math.max(1, policy.dropAfterMs - policy.catchUpAfterMs);
  const t = Math.min(1, (backlogMs - policy.catchUpAfterMs) / span);
  return Math.round((1 + t * (policy.maxRate - 1)) * 1000) / 1000;
}

export class SpeechQueue<T> {
  readonly policy: SpeechPolicy;
  private readonly queued: QueuedSpeech<T>[] = [];
  private scheduled: ScheduledSpeech<T>[] = [];
  /** The highest seq ever scheduled (a later arrival below it is late). */
  private lastScheduledSeq = -1;

  constructor(policy: Partial<SpeechPolicy> = {}) {
    this.policy = { ...DEFAULT_SPEECH_POLICY, ...policy };
  }

  /** Segments waiting, not yet scheduled, in seq order. */
  get pending(): readonly QueuedSpeech<T>[] {
    return this.queued;
  }

  /** Segments scheduled and not yet over at `now`. */
  upcoming(now: number): readonly ScheduledSpeech<T>[] {
    this.scheduled = this.scheduled.filter((s) => s.endAt > now);
    return this.scheduled;
  }

  /** What is still to be heard at `now`, ms of clock time (scheduled at their rates, queued at normal speed). */
  backlogMs(now: number): number {
    const scheduledEnd = this.scheduled.reduce((end, s) => Math.max(end, s.endAt), now);
    return scheduledEnd - now + this.queued.reduce((n, s) => n + s.durationMs, 0);
  }

  /** The segment being heard at `now`, if any. */
  speakingAt(now: number): ScheduledSpeech<T> | undefined {
    return this.scheduled.find((s) => s.startAt <= now && now < s.endAt);
  }

  /**
   * Adds a decoded segment. Returns what was dropped (the segment itself when
   * it is late or a duplicate; else the oldest queued ones over the ceiling).
   */
  push(item: QueuedSpeech<T>, now: number): QueuedSpeech<T>[] {
    if (item.seq <= this.lastScheduledSeq || this.queued.some((q) => q.seq === item.seq)) return [item];
    const at = this.queued.findIndex((q) => q.seq > item.seq);
    if (at < 0) this.queued.push(item);
    else this.queued.splice(at, 0, item);
    const dropped: QueuedSpeech<T>[] = [];
    while (this.queued.length > 1 && this.backlogMs(now) > this.policy.dropAfterMs) dropped.push(this.queued.shift()!);
    return dropped;
  }

  /**
   * Schedules what may be scheduled at `now`: the next queued segments, each
   * where the previous one ends (or now), up to `lookahead` ahead. Returns the
   * newly scheduled segments (the caller starts their audio at `startAt`).
   */
  schedule(now: number): ScheduledSpeech<T>[] {
    const out: ScheduledSpeech<T>[] = [];
    while (this.queued.length > 0 && this.upcoming(now).length < this.policy.lookahead) {
      const backlog = this.backlogMs(now);
      const item = this.queued.shift()!;
      const startAt = this.scheduled.reduce((end, s) => Math.max(end, s.endAt), now);
      const rate = rateFor(backlog, this.policy);
      const s: ScheduledSpeech<T> = { ...item, startAt, endAt: startAt + item.durationMs / rate, rate };
      this.scheduled.push(s);
      this.lastScheduledSeq = Math.max(this.lastScheduledSeq, item.seq);
      out.push(s);
    }
    return out;
  }

  /** Forgets everything (pause, end, a language or mode change). Later segments are accepted again. */
  clear(): { queued: QueuedSpeech<T>[]; scheduled: ScheduledSpeech<T>[] } {
    const cleared = { queued: this.queued.splice(0), scheduled: this.scheduled };
    this.scheduled = [];
    return cleared;
  }

  /** Also forgets the seq order (a new language counts its own segments). */
  reset(): void {
    this.clear();
    this.lastScheduledSeq = -1;
  }
}
