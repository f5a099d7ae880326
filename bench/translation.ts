import { readFileSync } from "node:fs";
import WebSocket from "ws";
import type { LanguageCode } from "../lib/core/languages";
import type { ServerMessage } from "../lib/core/protocol";
import { Segmenter, type RecognizerResult } from "../lib/core/segmenter";
import { SPEECH_SAMPLE_RATE, speechWav, type SpeechWav } from "../tests/e2e/support/speech-wav";
import { openRecognitionStream } from "./support/transcribe-stream";
import { fmt, mb, percentiles, processTree, rssKb, treeCpuSeconds, type Percentiles } from "./measure";
import type { BenchContext, BenchResult, Benchmark, TargetCheck } from "./types";

/**
 * Live translation lag: from the end of a spoken phrase to its caption, and
 * to its translated speech, at every listener.
 *
 * The speaker's side is what the speaker's browser does, minus the browser:
 * the test WAV (known English sentences spoken by flite, phrase ends known
 * from sample counts) is streamed in real time, 100 ms chunks, to the
 * recogniser endpoint the control plane names (`getRecognizer`: the embedded
 * runtime's Transcribe-protocol endpoint backed by pocketsphinx), its results
 * go through the same Segmenter, and segments go to the control plane as
 * `submitTranscript` on the speaker's real control socket. Listeners are real
 * WebSockets that joined in their language with speech on.
 *
 * Lag = time the listener's socket received the caption (or the last part of
 * the speech) minus the wall-clock time the phrase ended in the stream. The
 * speech figure is the moment playback can start (a browser adds decoding,
 * a few ms for a sentence of MP3, and any queue ahead of it).
 */

const TARGETS: readonly LanguageCode[] = ["es", "ca", "eo"];
const LISTENERS_PER_LANGUAGE = 10;
const CHUNK_MS = 100;
/** How long the drain after the audio waits for the last segment's messages at most. */
const DRAIN_TIMEOUT_MS = 15_000;

/** Resolves when `socket` has received (or receives) a message passing `test`; rejects after DRAIN_TIMEOUT_MS. */
function received(socket: Socket, test: (m: ServerMessage) => boolean): Promise<ServerMessage> {
  const seen = socket.messages.find((m) => test(m.message));
  return seen ? Promise.resolve(seen.message) : socket.next(test, DRAIN_TIMEOUT_MS);
}
/** A segment belongs to the phrase whose end is nearest, within this. */
const MATCH_WINDOW_MS = 2000;

const TARGET_CAPTION_P50 = 1200;
const TARGET_CAPTION_P95 = 2000;
const TARGET_SPEECH_P50 = 1500;
const TARGET_SPEECH_P95 = 2500;

// ---------------------------------------------------------------------------
// Clients

class Socket {
  readonly ws: WebSocket;
  readonly messages: { at: number; message: ServerMessage; bytes: number }[] = [];
  bytes = 0;
  private waiters: { test: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  private counter = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data: Buffer) => {
      const at = Date.now();
      this.bytes += data.length;
      const message = JSON.parse(data.toString()) as ServerMessage;
      this.messages.push({ at, message, bytes: data.length });
      this.waiters = this.waiters.filter((w) => (w.test(message) ? (w.resolve(message), false) : true));
    });
  }

  static open(url: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once("open", () => resolve(new Socket(ws)));
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode} from ${url.split("?")[0]}`)));
    });
  }

  send(message: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Sends a request and resolves with its reply (or rejects on an error reply). */
  request(message: Record<string, unknown>, timeoutMs = 15_000): Promise<ServerMessage> {
    const requestId = `r${++this.counter}`;
    const reply = this.next((m) => "requestId" in m && m.requestId === requestId, timeoutMs);
    this.send({ ...message, requestId });
    return reply.then((m) => {
      if (m.type === "error") throw new Error(`${String(message.action)}: ${m.code} ${m.message}`);
      return m;
    });
  }

  next(test: (m: ServerMessage) => boolean, timeoutMs: number): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for a message")), timeoutMs);
      this.waiters.push({ test, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** The PCM samples of a WAV (16 kHz mono s16le), without its header. */
function pcmOf(wav: SpeechWav): Buffer {
  const file = readFileSync(wav.path);
  let offset = 12;
  while (offset + 8 <= file.length) {
    const id = file.toString("ascii", offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    if (id === "data") return file.subarray(offset + 8, offset + 8 + size);
    offset += 8 + size + (size % 2);
  }
  throw new Error(`no data chunk in ${wav.path}`);
}

const normalise = (text: string) => text.toLowerCase().replace(/[^a-z' ]+/g, " ").split(/\s+/).filter(Boolean);

/** Word-level edit distance. */
function editDistance(a: readonly string[], b: readonly string[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

// ---------------------------------------------------------------------------
// One round: a session, its listeners, the WAV streamed `loops` times

interface RoundOptions {
  targets: readonly LanguageCode[];
  perLanguage: number;
  loops: number;
}

interface Round {
  targets: readonly LanguageCode[];
  listeners: number;
  phrases: number;
  /** Final segments the recogniser produced, and how many matched a phrase. */
  segments: number;
  matched: number;
  /** Phrase end -> the recogniser's final result at the speaker. */
  recognitionLagMs: Percentiles;
  captionLagMs: Percentiles;
  speechLagMs: Percentiles;
  captionLagByLanguage: Record<string, Percentiles>;
  speechLagByLanguage: Record<string, Percentiles>;
  /** Captions / speech that never arrived, over listener × matched phrase. */
  missingCaptions: number;
  missingSpeech: number;
  wordErrorRate: number;
  /** Server and its engine processes: CPU seconds per second of speech, peak RSS. */
  cpuPerSecond: number;
  peakRssMb: number;
  engineRssMb: number;
  /** Bytes one listener receives per minute of talk, by language. */
  bytesPerListenerMinute: Record<string, number>;
  audioSeconds: number;
  recognised: { text: string; phrase: number }[];
}

async function round(ctx: BenchContext, wav: SpeechWav, options: RoundOptions): Promise<Round> {
  const token = await ctx.speakerToken();
  const speaker = await Socket.open(`${ctx.wsBase}/ws?token=${encodeURIComponent(token)}`);
  const created = await speaker.request({
    action: "createSession",
    sourceLanguage: "en",
    targetLanguages: [...options.targets],
    recognizer: "server",
    title: "Bench: translation lag",
  });
  if (created.type !== "sessionCreated") throw new Error(`createSession answered ${created.type}`);
  const sessionId = created.sessionId;

  const listeners: { language: LanguageCode; socket: Socket }[] = [];
  for (const language of options.targets) {
    for (let i = 0; i < options.perLanguage; i++) {
      const socket = await Socket.open(`${ctx.wsBase}/ws?sessionId=${sessionId}&targetLanguage=${language}`);
      await socket.request({ action: "joinSession", sessionId, targetLanguage: language, speech: true });
      listeners.push({ language, socket });
    }
  }

  const recognizer = await speaker.request({ action: "getRecognizer" });
  if (recognizer.type !== "recognizer" || !recognizer.url) throw new Error(`no local recogniser (engine ${recognizer.type === "recognizer" ? recognizer.engine : "?"}): run npm run speech:install`);

  const pcm = pcmOf(wav);
  const loopBytes = pcm.length;
  const chunkBytes = (SPEECH_SAMPLE_RATE * 2 * CHUNK_MS) / 1000;
  const totalChunks = Math.ceil((loopBytes * options.loops) / chunkBytes);
  const finals = new Map<number, { text: string; endMs: number; recognisedAt: number }>();
  const segmenter = new Segmenter();

  let streamStart = 0;
  const stream = await openRecognitionStream(recognizer.url, (result: RecognizerResult) => {
    for (const segment of segmenter.push(result)) {
      speaker.send({ action: "submitTranscript", ...segment, spokenAt: streamStart + segment.endMs });
      if (segment.final) finals.set(segment.seq, { text: segment.text, endMs: segment.endMs, recognisedAt: Date.now() });
    }
  });

  const root = ctx.serverPid;
  const cpu0 = treeCpuSeconds(root);
  let peakRss = 0;
  const sampler = setInterval(() => {
    const rss = processTree(root).reduce((s, pid) => s + rssKb(pid), 0);
    if (rss > peakRss) peakRss = rss;
  }, 250);
  streamStart = Date.now();
  for (let i = 0; i < totalChunks; i++) {
    const from = (i * chunkBytes) % loopBytes;
    const chunk = Buffer.alloc(chunkBytes);
    for (let k = 0; k < chunkBytes; k++) chunk[k] = pcm[(from + k) % loopBytes]!;
    stream.send(chunk);
    const due = streamStart + (i + 1) * CHUNK_MS;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const audioSeconds = (totalChunks * CHUNK_MS) / 1000;
  // End of stream: the recogniser answers what it heard, then closes; the segmenter gives up what it holds.
  await stream.end();
  for (const segment of segmenter.flush()) {
    speaker.send({ action: "submitTranscript", ...segment, spokenAt: streamStart + segment.endMs });
    if (segment.final) finals.set(segment.seq, { text: segment.text, endMs: segment.endMs, recognisedAt: Date.now() });
  }
  // Drained: the server reported the last segment processed (after its pushes), and every listener has its
  // caption and the last part of its speech. Bounded: what never comes is counted missing below.
  const lastSeq = Math.max(-1, ...finals.keys());
  if (lastSeq >= 0) {
    const drained = [
      received(speaker, (m) => m.type === "segmentProcessed" && m.seq === lastSeq),
      ...listeners.flatMap(({ socket }) => [
        received(socket, (m) => m.type === "caption" && m.seq === lastSeq && m.final),
        received(socket, (m) => m.type === "speech" && m.seq === lastSeq && m.part === m.parts - 1),
      ]),
    ];
    await Promise.all(drained.map((p) => p.catch(() => undefined)));
  }
  clearInterval(sampler);
  const cpu = treeCpuSeconds(root) - cpu0;
  const engineRss = processTree(root)
    .filter((pid) => pid !== root)
    .reduce((s, pid) => s + rssKb(pid), 0);
  stream.close();

  // Phrase ends in stream time, over every loop.
  const phraseEnds: { index: number; endMs: number }[] = [];
  for (let loop = 0; loop < options.loops; loop++) {
    for (const p of wav.phrases) phraseEnds.push({ index: p.index, endMs: loop * wav.durationMs + p.endMs });
  }
  const phraseOfSeq = new Map<number, { index: number; endMs: number }>();
  const recognised: { text: string; phrase: number }[] = [];
  const used = new Set<number>();
  for (const [seq, f] of [...finals].sort((a, b) => a[0] - b[0])) {
    let best = -1;
    for (let k = 0; k < phraseEnds.length; k++) {
      if (used.has(k)) continue;
      const d = Math.abs(phraseEnds[k]!.endMs - f.endMs);
      if (d <= MATCH_WINDOW_MS && (best < 0 || d < Math.abs(phraseEnds[best]!.endMs - f.endMs))) best = k;
    }
    recognised.push({ text: f.text, phrase: best >= 0 ? phraseEnds[best]!.index : -1 });
    if (best >= 0) {
      used.add(best);
      phraseOfSeq.set(seq, phraseEnds[best]!);
    }
  }

  // Word error rate over the whole talk: every phrase spoken against the words recognised for it.
  let errors = 0;
  let words = 0;
  phraseEnds.forEach((p, k) => {
    const reference = normalise(wav.sentences[p.index]!.text);
    words += reference.length;
    const seq = [...phraseOfSeq].find(([, q]) => q === phraseEnds[k])?.[0];
    errors += editDistance(reference, seq === undefined ? [] : normalise(finals.get(seq)!.text));
  });

  // Where the time goes: phrase end -> final result at the speaker (recognition), -> caption (pipeline and delivery).
  const recognitionLags: number[] = [];
  for (const [seq, phrase] of phraseOfSeq) recognitionLags.push(finals.get(seq)!.recognisedAt - (streamStart + phrase.endMs));
  const captionLags: number[] = [];
  const speechLags: number[] = [];
  const captionBy: Record<string, number[]> = {};
  const speechBy: Record<string, number[]> = {};
  let missingCaptions = 0;
  let missingSpeech = 0;
  const bytesBy: Record<string, number[]> = {};
  for (const { language, socket } of listeners) {
    for (const [seq, phrase] of phraseOfSeq) {
      const endedAt = streamStart + phrase.endMs;
      const caption = socket.messages.find((m) => m.message.type === "caption" && m.message.seq === seq && m.message.final);
      const speech = socket.messages.find((m) => m.message.type === "speech" && m.message.seq === seq && m.message.part === m.message.parts - 1);
      if (caption) {
        captionLags.push(caption.at - endedAt);
        (captionBy[language] ??= []).push(caption.at - endedAt);
      } else missingCaptions++;
      if (speech) {
        speechLags.push(speech.at - endedAt);
        (speechBy[language] ??= []).push(speech.at - endedAt);
      } else missingSpeech++;
    }
    (bytesBy[language] ??= []).push(socket.bytes / (audioSeconds / 60));
  }
  for (const { socket } of listeners) socket.close();
  await speaker.request({ action: "endSession" }).catch(() => undefined);
  speaker.close();

  const mapValues = <T, U>(o: Record<string, T>, f: (v: T) => U) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
  return {
    targets: options.targets,
    listeners: listeners.length,
    phrases: phraseEnds.length,
    segments: finals.size,
    matched: phraseOfSeq.size,
    recognitionLagMs: percentiles(recognitionLags),
    captionLagMs: percentiles(captionLags),
    speechLagMs: percentiles(speechLags),
    captionLagByLanguage: mapValues(captionBy, percentiles),
    speechLagByLanguage: mapValues(speechBy, percentiles),
    missingCaptions,
    missingSpeech,
    wordErrorRate: words ? Math.round((errors / words) * 1000) / 10 : NaN,
    cpuPerSecond: Math.round((cpu / audioSeconds) * 1000) / 1000,
    peakRssMb: mb(peakRss),
    engineRssMb: mb(engineRss),
    bytesPerListenerMinute: mapValues(bytesBy, (v) => Math.round(v.reduce((s, x) => s + x, 0) / Math.max(1, v.length))),
    audioSeconds,
    recognised,
  };
}

// ---------------------------------------------------------------------------

async function run(ctx: BenchContext): Promise<BenchResult> {
  const wav = speechWav();
  const loops = ctx.quick ? 1 : 3;
  ctx.log(`  ${wav.phrases.length} phrases x ${loops} loops (${fmt(Math.round((wav.durationMs * loops) / 1000))} s of speech) per round`);
  // Recognition alone (no target listeners): the baseline for the CPU each language adds.
  const baseline = await round(ctx, wav, { targets: [], perLanguage: 0, loops });
  ctx.log(`  baseline (recognition only): ${baseline.segments} segments, recognition lag p50 ${baseline.recognitionLagMs.p50} ms, CPU ${baseline.cpuPerSecond} s/s`);
  const full = await round(ctx, wav, { targets: TARGETS, perLanguage: ctx.quick ? 3 : LISTENERS_PER_LANGUAGE, loops });
  ctx.log(
    `  ${full.targets.join(", ")} x ${full.listeners} listeners: recognition lag p50 ${full.recognitionLagMs.p50} ms, caption lag p50 ${full.captionLagMs.p50} / p95 ${full.captionLagMs.p95} ms, ` +
      `speech lag p50 ${full.speechLagMs.p50} / p95 ${full.speechLagMs.p95} ms, ${full.matched}/${full.phrases} phrases, WER ${full.wordErrorRate} %`,
  );
  const cpuPerLanguage = Math.round(((full.cpuPerSecond - baseline.cpuPerSecond) / TARGETS.length) * 1000) / 1000;

  const targets: TargetCheck[] = [
    { metric: "caption lag p50 (phrase end -> caption at a listener)", target: `<= ${fmt(TARGET_CAPTION_P50)} ms`, measured: `${fmt(full.captionLagMs.p50)} ms`, met: full.captionLagMs.p50 <= TARGET_CAPTION_P50 },
    { metric: "caption lag p95", target: `<= ${fmt(TARGET_CAPTION_P95)} ms`, measured: `${fmt(full.captionLagMs.p95)} ms`, met: full.captionLagMs.p95 <= TARGET_CAPTION_P95 },
    { metric: "speech lag p50 (phrase end -> translated speech at a listener)", target: `<= ${fmt(TARGET_SPEECH_P50)} ms`, measured: `${fmt(full.speechLagMs.p50)} ms`, met: full.speechLagMs.p50 <= TARGET_SPEECH_P50 },
    { metric: "speech lag p95", target: `<= ${fmt(TARGET_SPEECH_P95)} ms`, measured: `${fmt(full.speechLagMs.p95)} ms`, met: full.speechLagMs.p95 <= TARGET_SPEECH_P95 },
    { metric: "phrases measured (of those spoken)", target: ">= 20", measured: `${full.matched} of ${full.phrases}`, met: full.matched >= 20 || ctx.quick },
  ];
  const row = (r: Round, name: string) =>
    `| ${name} | ${r.listeners} | ${r.matched}/${r.phrases} | ${fmt(r.recognitionLagMs.p50)} / ${fmt(r.recognitionLagMs.p95)} | ${r.captionLagMs.n ? `${fmt(r.captionLagMs.p50)} / ${fmt(r.captionLagMs.p95)} / ${fmt(r.captionLagMs.max)}` : "—"} | ${r.speechLagMs.n ? `${fmt(r.speechLagMs.p50)} / ${fmt(r.speechLagMs.p95)} / ${fmt(r.speechLagMs.max)}` : "—"} | ${r.missingCaptions} / ${r.missingSpeech} | ${r.cpuPerSecond} | ${r.peakRssMb} (engines ${r.engineRssMb}) |`;
  const byLanguage = TARGETS.map(
    (l) =>
      `| ${l} | ${full.captionLagByLanguage[l] ? `${fmt(full.captionLagByLanguage[l]!.p50)} / ${fmt(full.captionLagByLanguage[l]!.p95)}` : "—"} | ${full.speechLagByLanguage[l] ? `${fmt(full.speechLagByLanguage[l]!.p50)} / ${fmt(full.speechLagByLanguage[l]!.p95)}` : "—"} | ${fmt(full.bytesPerListenerMinute[l] ?? 0)} |`,
  );
  const markdown = [
    "The speaker's side is what the speaker's browser does, without the browser: the test WAV (eight English sentences spoken by",
    "flite, phrase ends known from sample counts; `tests/e2e/support/speech-wav.ts`) is streamed in real time in 100 ms chunks to the",
    "recogniser endpoint that `getRecognizer` names (the embedded Transcribe-protocol endpoint over pocketsphinx), its results go",
    "through the same Segmenter as in the browser, and segments go to the control plane as `submitTranscript`. Listeners are real",
    "WebSockets joined with speech on. Lag is the time a listener's socket received the caption (or the last part of the synthesized",
    "speech) minus the wall-clock time the phrase ended in the stream: recognition endpointing (pocketsphinx waits for a pause),",
    "translation (Apertium), synthesis (espeak-ng + lame) and delivery are all inside it. A browser adds MP3 decoding (a few ms) before",
    "the speech starts. Figures are over every listener × phrase.",
    "",
    "| round | listeners | phrases matched | recognition lag p50 / p95 (ms) | caption lag p50 / p95 / max (ms) | speech lag p50 / p95 / max (ms) | missing captions / speech | CPU s per s of speech (server + engines) | peak RSS MB |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    row(baseline, "recognition only"),
    row(full, `${TARGETS.join(", ")}`),
    "",
    `CPU each target language adds: **${cpuPerLanguage} s per second of speech** (full round minus recognition only, over ${TARGETS.length} languages).`,
    `Word error rate of the recogniser on the test sentences: **${full.wordErrorRate} %** (${full.matched} of ${full.phrases} phrases recognised as segments).`,
    "",
    "| language | caption lag p50 / p95 (ms) | speech lag p50 / p95 (ms) | bytes per listener-minute |",
    "|---|---:|---:|---:|",
    ...byLanguage,
  ].join("\n");
  return { targets, data: { baseline: { ...baseline, recognised: undefined }, full, cpuPerLanguage }, markdown };
}

export const translation: Benchmark = { name: "translation", title: "Live translation: caption and speech lag", run };
