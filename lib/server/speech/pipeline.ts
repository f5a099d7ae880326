import { toEarshotError, EarshotError } from "../../core/errors";
import type { LanguageCode } from "../../core/languages";
import type { CaptionMessage, PipelineLanguageStatus, ServerMessage, SpeechMessage } from "../../core/protocol";
import type { ConnectionItem, SessionItem } from "../../core/schema";
import { MAX_SPEECH_PART_CHARS, asSentence, canTranslate, voiceFor, type Segment, type SpeechEngines } from "../../core/speech";
import type { ConnectionPort, Logger } from "../control/ports";
import type { Store } from "../store/store";
import { AsyncLru, translationKey } from "./cache";
import type { SpeechServices } from "./ports";

/**
 * Segments in, captions and speech out. Per final segment: one read of the
 * session's connections, one translation per target language that has
 * listeners (cached), one synthesis per language that has listeners who want
 * speech, pushes to exactly those listeners, the segment stored for the
 * transcript, and a report to the speaker. Partials go to source-language
 * listeners only. Work for one session runs in order (pushes keep seq order
 * within this process); a failing engine for one language never stops the
 * others.
 */

export interface PipelineDeps {
  store: Store;
  connections: ConnectionPort;
  speech?: SpeechServices;
  logger: Logger;
  /** A connection whose socket is gone: the control plane un-counts and deletes it. */
  forget(connectionId: string): Promise<void>;
  now?: () => number;
  /** Translations kept in memory (default 5,000 sentences). */
  cacheEntries?: number;
}

interface Audience {
  all: string[];
  speech: string[];
}

const FAN_OUT = 32;
const OFF: SpeechEngines = { asr: "off", mt: "off", tts: "off" };

/** Splits base64 audio into parts of at most MAX_SPEECH_PART_CHARS (a multiple of 4, so each part decodes alone too). */
export function speechParts(base64: string, max = MAX_SPEECH_PART_CHARS): string[] {
  const size = Math.max(4, max - (max % 4));
  if (base64.length <= size) return [base64];
  const parts: string[] = [];
  for (let i = 0; i < base64.length; i += size) parts.push(base64.slice(i, i + size));
  return parts;
}

/**
 * One translation cache per set of speech services, so that control planes
 * made per invocation (the Lambda makes one per event) share it for as long
 * as the process lives.
 */
const caches = new WeakMap<object, AsyncLru<string>>();
const NO_SERVICES = {};

export class SpeechPipeline {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly translations: AsyncLru<string>;
  private readonly now: () => number;

  constructor(private readonly deps: PipelineDeps) {
    this.now = deps.now ?? Date.now;
    const owner = deps.speech ?? NO_SERVICES;
    let cache = caches.get(owner);
    if (!cache) caches.set(owner, (cache = new AsyncLru<string>(deps.cacheEntries ?? 5000)));
    this.translations = cache;
  }

  get engines(): SpeechEngines {
    return this.deps.speech?.engines ?? OFF;
  }

  /** Translation cache counters (for benchmarks and tests). */
  get cacheStats(): { hits: number; misses: number; size: number } {
    return { hits: this.translations.hits, misses: this.translations.misses, size: this.translations.size };
  }

  /**
   * Runs one segment through the pipeline after the session's earlier ones.
   * Resolves when its pushes are done. Never rejects: failures are reported
   * to the speaker and logged.
   */
  submit(session: SessionItem, segment: Segment, speakerConnectionId: string): Promise<void> {
    const key = session.sessionId;
    const previous = this.tails.get(key) ?? Promise.resolve();
    const run = previous.then(() => this.process(session, segment, speakerConnectionId)).catch((error: unknown) => {
      this.deps.logger.error("pipeline failed", { sessionId: key, seq: segment.seq, error });
    });
    this.tails.set(key, run);
    void run.finally(() => {
      if (this.tails.get(key) === run) this.tails.delete(key);
    });
    return run;
  }

  private async process(session: SessionItem, segment: Segment, speakerConnectionId: string): Promise<void> {
    const rows = await this.deps.store.listSessionConnections(session.sessionId);
    const audiences = audiencesOf(rows);
    const gone = new Set<string>();
    const source = session.sourceLanguage;

    if (!segment.final) {
      const ids = audiences.get(source)?.all ?? [];
      const caption: CaptionMessage = { type: "caption", sessionId: session.sessionId, seq: segment.seq, language: source, text: segment.text, final: false, startMs: segment.startMs, endMs: segment.endMs };
      await this.fanOut(ids, caption, gone);
      await this.forgetAll(gone);
      return;
    }

    const receivedAt = this.now();
    const spokenAt = segment.spokenAt ?? receivedAt;
    const sentence = asSentence(segment.text);
    const captionOf = (language: LanguageCode, text: string): CaptionMessage => ({
      type: "caption",
      sessionId: session.sessionId,
      seq: segment.seq,
      language,
      text,
      final: true,
      startMs: segment.startMs,
      endMs: segment.endMs,
    });

    const sourceAudience = audiences.get(source) ?? { all: [], speech: [] };
    const statuses: PipelineLanguageStatus[] = [];
    const sourceStatus: PipelineLanguageStatus = { language: source, listeners: sourceAudience.all.length, speechListeners: 0 };
    statuses.push(sourceStatus);
    const sourceDone = this.fanOut(sourceAudience.all, captionOf(source, sentence), gone).then(() => {
      if (sourceAudience.all.length > 0) sourceStatus.captionLagMs = this.now() - spokenAt;
    });

    const translations: Record<string, string> = {};
    const targets = [...new Set([...(session.targetLanguages ?? []), ...audiences.keys()])].filter((l) => l !== source);
    const work = targets.map(async (language) => {
      const audience = audiences.get(language);
      if (!audience || audience.all.length === 0) return; // nobody to translate for
      const status: PipelineLanguageStatus = { language, listeners: audience.all.length, speechListeners: audience.speech.length };
      statuses.push(status);
      let text: string;
      try {
        text = await this.translate(sentence, source, language);
      } catch (error) {
        status.error = describe(error);
        this.logFailure("translation failed", session.sessionId, segment.seq, language, error);
        return;
      }
      status.text = text;
      translations[language] = text;
      await this.fanOut(audience.all, captionOf(language, text), gone);
      status.captionLagMs = this.now() - spokenAt;
      if (audience.speech.length === 0) return;
      const synthesizer = this.deps.speech?.synthesizer;
      if (!synthesizer || !voiceFor(this.engines.tts, language)) return; // captions-only language
      try {
        const spoken = await synthesizer.synthesize(text, language);
        const parts = speechParts(Buffer.from(spoken.audio).toString("base64"));
        const messages: SpeechMessage[] = parts.map((audio, part) => ({
          type: "speech",
          sessionId: session.sessionId,
          seq: segment.seq,
          language,
          format: spoken.format,
          audio,
          durationMs: spoken.durationMs,
          part,
          parts: parts.length,
        }));
        await this.fanOutSeries(audience.speech, messages, gone);
        status.speechLagMs = this.now() - spokenAt;
      } catch (error) {
        status.error = describe(error);
        this.logFailure("synthesis failed", session.sessionId, segment.seq, language, error);
      }
    });
    await Promise.all([sourceDone, ...work]);

    try {
      await this.deps.store.putSegment({
        sessionId: session.sessionId,
        seq: segment.seq,
        language: source,
        text: sentence,
        startMs: segment.startMs,
        endMs: segment.endMs,
        ...(segment.spokenAt !== undefined ? { spokenAt: segment.spokenAt } : {}),
        receivedAt,
        translations,
        expiresAt: session.expiresAt,
      });
    } catch (error) {
      this.deps.logger.warn("could not store a transcript segment", { sessionId: session.sessionId, seq: segment.seq, error });
    }

    const order = (l: LanguageCode) => (l === source ? "" : l);
    statuses.sort((a, b) => order(a.language).localeCompare(order(b.language)));
    const report: ServerMessage = { type: "segmentProcessed", sessionId: session.sessionId, seq: segment.seq, text: sentence, languages: statuses };
    if (!(await this.deps.connections.post(speakerConnectionId, report))) gone.add(speakerConnectionId);
    await this.forgetAll(gone);
  }

  /** One sentence into one language, through the cache (concurrent identical requests share one call). */
  translate(sentence: string, source: LanguageCode, target: LanguageCode): Promise<string> {
    const engines = this.engines;
    const translator = this.deps.speech?.translator;
    if (!translator || !canTranslate(engines.mt, source, target)) {
      return Promise.reject(
        new EarshotError(
          "ENGINE_UNAVAILABLE",
          engines.mt === "off" || !translator ? "Translation is off on this server." : `The translation engine (${engines.mt}) does not translate ${source} into ${target}.`,
        ),
      );
    }
    return this.translations.get(translationKey(engines.mt, source, target, sentence), () => translator.translate(sentence, source, target));
  }

  private async fanOut(ids: readonly string[], message: ServerMessage, gone: Set<string>): Promise<void> {
    await this.fanOutSeries(ids, [message], gone);
  }

  /** Sends `messages` in order to every connection in `ids`, a bounded number of connections at a time. */
  private async fanOutSeries(ids: readonly string[], messages: readonly ServerMessage[], gone: Set<string>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        try {
          for (const m of messages) {
            if (!(await this.deps.connections.post(id, m))) {
              gone.add(id);
              break;
            }
          }
        } catch (error) {
          this.deps.logger.warn("push to a listener failed", { connectionId: id, error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(FAN_OUT, ids.length) }, worker));
  }

  private async forgetAll(gone: Set<string>): Promise<void> {
    for (const id of gone) {
      await this.deps.forget(id).catch((error: unknown) => this.deps.logger.warn("could not forget a gone connection", { connectionId: id, error }));
    }
  }

  private logFailure(what: string, sessionId: string, seq: number, language: LanguageCode, error: unknown): void {
    const e = toEarshotError(error);
    this.deps.logger.warn(what, { sessionId, seq, language, code: e.code, error: e.cause ?? e.message });
  }
}

/** Listeners of a session grouped by the language they joined, and which of them want speech. */
export function audiencesOf(rows: readonly ConnectionItem[]): Map<LanguageCode, Audience> {
  const out = new Map<LanguageCode, Audience>();
  for (const row of rows) {
    if (row.role !== "listener" || !row.joinedLanguage) continue;
    let a = out.get(row.joinedLanguage);
    if (!a) out.set(row.joinedLanguage, (a = { all: [], speech: [] }));
    a.all.push(row.connectionId);
    if (row.speech !== false) a.speech.push(row.connectionId);
  }
  return out;
}

function describe(error: unknown): { code: ReturnType<typeof toEarshotError>["code"]; message: string } {
  const e = toEarshotError(error);
  return { code: e.code, message: e.message };
}
