import { TRANSCRIPT_LIMITS, type Segment } from "./speech";

/**
 * Turns a recogniser's results into the segments the speaker submits
 * (`submitTranscript`). Runtime-free: the speaker's browser runs it over
 * Transcribe-protocol results (Amazon Transcribe, the embedded pocketsphinx
 * endpoint) or the Web Speech API's.
 *
 * A recogniser reports one utterance as a run of partial results under one
 * `resultId`, each repeating the whole utterance so far, and then one final
 * result at the endpoint (a pause). The Segmenter:
 * - passes partials on as partial segments carrying the seq the segment will
 *   have when final (listeners of the source language see them live);
 * - emits a final segment at each endpoint;
 * - cuts long run-on speech: once a pending segment spans more than
 *   `maxSegmentMs`, the words that stayed unchanged across the last partials
 *   (the stable prefix) become a final segment of their own, and the rest of
 *   the utterance continues under the next seq. So no segment waits for a
 *   pause longer than a few seconds;
 * - numbers final segments 0, 1, 2, ... (monotonic, never reused).
 */

export interface RecognizerResult {
  /** Identifies one utterance; its partials and final share it. */
  resultId: string;
  /** The utterance's whole text so far. */
  text: string;
  /** ms from the start of the recognition stream. */
  startMs: number;
  endMs: number;
  partial: boolean;
}

export interface SegmenterOptions {
  /** Cut run-on speech after this much (default TRANSCRIPT_LIMITS.maxSegmentMs). */
  maxSegmentMs?: number;
  /** The first seq (a speaker who reconnects continues where it was). */
  startSeq?: number;
  /** How many consecutive partials a word must survive unchanged to count as stable (default 2). */
  stableAcross?: number;
  /** Fewest stable words worth cutting off as a segment (default 3). */
  minCutWords?: number;
  /**
   * Least stream time between two partials of one segment (default 300 ms),
   * so partials stay inside the rate limit (TRANSCRIPT_LIMITS.messagesPer10s);
   * a skipped partial is overtaken by the next one or the final.
   */
  minPartialGapMs?: number;
  /** Wall clock (epoch ms) for `spokenAt`; default Date.now. */
  now?: () => number;
}

const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);

function commonPrefixLength(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class Segmenter {
  private seq: number;
  private readonly maxSegmentMs: number;
  private readonly stableAcross: number;
  private readonly minCutWords: number;
  private readonly minPartialGapMs: number;
  private readonly now: () => number;

  /** The utterance being followed. */
  private resultId: string | undefined;
  /** Words of that utterance already sent as final segments (run-on cuts). */
  private committed = 0;
  /** Start of the pending segment, ms. */
  private pendingStartMs = 0;
  /** The uncommitted words of the last few partials, newest last. */
  private history: string[][] = [];
  /** The last partial sent, to skip repeats. */
  private lastPartial: { text: string; seq: number; endMs: number; startMs: number; sentEndMs: number } | undefined;

  constructor(options: SegmenterOptions = {}) {
    this.seq = options.startSeq ?? 0;
    this.maxSegmentMs = options.maxSegmentMs ?? TRANSCRIPT_LIMITS.maxSegmentMs;
    this.stableAcross = Math.max(2, options.stableAcross ?? 2);
    this.minCutWords = Math.max(1, options.minCutWords ?? 3);
    this.minPartialGapMs = options.minPartialGapMs ?? 300;
    this.now = options.now ?? Date.now;
  }

  /** The seq the next final segment gets. */
  get nextSeq(): number {
    return this.seq;
  }

  /** Feeds one result; returns the segments to submit, in order. */
  push(result: RecognizerResult): Segment[] {
    const out: Segment[] = [];
    if (result.resultId !== this.resultId) {
      // A new utterance. One that never got its final (a recogniser restart) is closed with its last partial.
      out.push(...this.flush());
      this.resultId = result.resultId;
      this.committed = 0;
      this.pendingStartMs = result.startMs;
      this.history = [];
    }
    const all = words(result.text);
    let rest = all.slice(this.committed);

    if (!result.partial) {
      if (rest.length > 0) out.push(...this.finals(rest.join(" "), this.pendingStartMs, Math.max(result.endMs, this.pendingStartMs)));
      this.resultId = undefined;
      this.committed = 0;
      this.history = [];
      this.lastPartial = undefined;
      return out;
    }

    this.history.push(rest);
    if (this.history.length > this.stableAcross) this.history.shift();

    if (result.endMs - this.pendingStartMs >= this.maxSegmentMs && this.history.length >= this.stableAcross) {
      let stable = rest.length;
      for (const earlier of this.history) stable = Math.min(stable, commonPrefixLength(earlier, rest));
      // The newest word may still be growing ("transl" -> "translation"): keep it back unless the utterance was longer before.
      if (stable === rest.length) stable = Math.max(0, stable - 1);
      if (stable >= this.minCutWords) {
        const span = result.endMs - this.pendingStartMs;
        const cutMs = this.pendingStartMs + Math.round((span * stable) / Math.max(rest.length, 1));
        out.push(...this.finals(rest.slice(0, stable).join(" "), this.pendingStartMs, cutMs));
        this.committed += stable;
        this.pendingStartMs = cutMs;
        rest = rest.slice(stable);
        this.history = this.history.map((h) => h.slice(stable));
        this.lastPartial = undefined;
      }
    }

    if (rest.length > 0) {
      const text = rest.join(" ");
      const endMs = Math.max(result.endMs, this.pendingStartMs);
      const last = this.lastPartial;
      if (!last || last.seq !== this.seq || (last.text !== text && endMs - last.sentEndMs >= this.minPartialGapMs)) {
        const partial: Segment = { seq: this.seq, text, startMs: this.pendingStartMs, endMs, final: false };
        this.lastPartial = { text, seq: this.seq, startMs: partial.startMs, endMs, sentEndMs: endMs };
        out.push(partial);
      } else {
        // Not sent (a repeat, or too soon): remembered, so a flush still closes the utterance with it.
        last.text = text;
        last.endMs = endMs;
      }
    }
    return out;
  }

  /**
   * Closes the pending utterance (the recogniser stopped, or started a new
   * stream): its last partial becomes a final segment.
   */
  flush(): Segment[] {
    const last = this.lastPartial;
    this.resultId = undefined;
    this.committed = 0;
    this.history = [];
    this.lastPartial = undefined;
    if (!last || !last.text) return [];
    return this.finals(last.text, last.startMs, last.endMs);
  }

  /** One final segment, or several when the text is over the size limit (split between words). */
  private finals(text: string, startMs: number, endMs: number): Segment[] {
    const chunks: string[] = [];
    let current = "";
    for (const w of words(text)) {
      const piece = w.slice(0, TRANSCRIPT_LIMITS.maxTextChars);
      const next = current ? `${current} ${piece}` : piece;
      if (next.length > TRANSCRIPT_LIMITS.maxTextChars) {
        chunks.push(current);
        current = piece;
      } else current = next;
    }
    if (current) chunks.push(current);
    const spokenAt = this.now();
    const span = endMs - startMs;
    const total = chunks.reduce((n, c) => n + c.length, 0) || 1;
    let at = startMs;
    let done = 0;
    return chunks.map((chunk, i) => {
      done += chunk.length;
      const end = i === chunks.length - 1 ? endMs : startMs + Math.round((span * done) / total);
      const segment: Segment = { seq: this.seq++, text: chunk, startMs: at, endMs: end, final: true, spokenAt };
      at = end;
      return segment;
    });
  }
}
