import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CHROMIUM, chromiumArgs } from "./env";

/**
 * Test speech: a WAV of known English sentences for Chromium's fake
 * microphone (`--use-file-for-fake-audio-capture`, which loops the file),
 * with the time each phrase ends, so tests can check what the recogniser and
 * the translators make of it and benchmarks can measure lag from the end of a
 * spoken phrase.
 *
 * Spoken by flite's `kal16` voice (16 kHz), which pocketsphinx's US English
 * model recognises nearly word for word (checked on this machine: the slt,
 * awb and rms voices lose words). Each sentence is trimmed of its own leading
 * and trailing silence by sox and then concatenated here with exact silences,
 * so the phrase end times are computed from sample counts, not guessed.
 *
 * Layout: LEAD_MS of silence, then each sentence followed by GAP_MS of
 * silence (the last gap also separates the loop's end from its start).
 * 16 kHz, mono, 16-bit PCM.
 *
 * Generated once per content (cached under the OS temp dir by a hash of the
 * sentences and the layout); needs `flite` and `sox` (`npm run speech:install`
 * installs both with the speech engines).
 */

export interface SpeechSentence {
  /** What flite says. */
  text: string;
  /** Words the recogniser's English text should contain (lower case). */
  en: readonly string[];
  /** Words Apertium's Spanish (eng-spa) translation contains, lower case. */
  es: readonly string[];
  /** Words Apertium's Catalan (eng-cat) translation contains, lower case. */
  ca: readonly string[];
}

/**
 * Simple vocabulary that pocketsphinx hears right from flite and that Apertium
 * translates well (checked with `apertium eng-spa` / `eng-cat` on the
 * recogniser's form of each: lower case, no punctuation, then capitalised
 * with a full stop as the pipeline sends it). The expected words are the
 * ones that survive the recogniser's usual slips on the microphone path
 * (Chromium's voice processing): "friend" for "friends" ("amigo", "amic"),
 * "reads above" for "reads a book".
 *
 * Apertium's output for each (input as the segmenter sends it):
 * - "Good morning my friends."      es "Buenos días Mis amigos."        ca "Bon dia els meus amics."
 * - "The house is very big."        es "La casa es muy grande."         ca "La casa és molt gran."
 * - "I have a new car."             es "Tengo un coche nuevo."          ca "Tinc un carro nou."
 * - "My sister reads a book."       es "Mi hermana lee un libro."       ca "La meva germana llegeix un llibre."
 * - "I want a cup of coffee."       es "Quiero una taza de café."       ca "Vull una copa de cafè."
 * - "We need more time."            es "Necesitamos más tiempo."        ca "Necessitem més temps."
 * - "The city is very beautiful."   es "La ciudad es muy bella."        ca "La ciutat és molt bonica."
 * - "The sun is hot today."          es "El sol es caliente hoy."        ca "El sol és calent avui."
 */
export const SPEECH_SENTENCES: readonly SpeechSentence[] = [
  { text: "Good morning, my friends.", en: ["good", "morning"], es: ["buenos", "días"], ca: ["bon", "dia"] },
  { text: "The house is very big.", en: ["house", "big"], es: ["casa", "muy", "grande"], ca: ["casa", "molt", "gran"] },
  { text: "I have a new car.", en: ["new", "car"], es: ["coche", "nuevo"], ca: ["carro", "nou"] },
  { text: "My sister reads a book.", en: ["my", "sister"], es: ["mi", "hermana"], ca: ["meva", "germana"] },
  { text: "I want a cup of coffee.", en: ["cup", "coffee"], es: ["taza", "café"], ca: ["vull", "cafè"] },
  { text: "We need more time.", en: ["need", "time"], es: ["necesitamos", "tiempo"], ca: ["necessitem", "temps"] },
  { text: "The city is very beautiful.", en: ["city", "beautiful"], es: ["ciudad", "bella"], ca: ["ciutat", "bonica"] },
  { text: "The sun is hot today.", en: ["sun", "today"], es: ["sol", "hoy"], ca: ["sol", "avui"] },
];

export const SPEECH_SAMPLE_RATE = 16_000;
/** Silence before the first sentence, ms. */
export const LEAD_MS = 500;
/** Silence after each sentence (the recogniser's endpoint needs a pause), ms. */
export const GAP_MS = 1200;
export const FLITE_VOICE = "kal16";

export interface SpokenPhrase {
  index: number;
  text: string;
  /** Where the phrase's speech starts and ends, ms from the start of the file (first loop). */
  startMs: number;
  endMs: number;
}

export interface SpeechWav {
  /** Path of the WAV, for `--use-file-for-fake-audio-capture`. */
  path: string;
  /** Length of one loop, ms. */
  durationMs: number;
  phrases: readonly SpokenPhrase[];
  sentences: readonly SpeechSentence[];
}

const BYTES_PER_MS = (SPEECH_SAMPLE_RATE * 2) / 1000;

/** Where a phrase end falls in loop `n` (0-based) of the fake microphone's playback. */
export function phraseEndInLoop(wav: SpeechWav, index: number, loop: number): number {
  return loop * wav.durationMs + wav.phrases[index]!.endMs;
}

/** Words of a sentence for a language: the expectations a caption is checked against. */
export function expectedWords(index: number, language: "en" | "es" | "ca"): readonly string[] {
  return SPEECH_SENTENCES[index % SPEECH_SENTENCES.length]![language];
}

/**
 * Which sentence (index) a caption text is: it contains all the sentence's
 * expected words as whole words (case-insensitive; "grande" is not "gran");
 * -1 if none.
 */
export function matchesSentence(text: string, language: "en" | "es" | "ca"): number {
  const words = new Set(text.toLocaleLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean));
  return SPEECH_SENTENCES.findIndex((s) => s[language].every((w) => words.has(w)));
}

/**
 * The WAV (generated on first use, then read from the cache) and its phrase
 * times. Synchronous, so a spec can call it at module level to pass the path
 * to Chromium's launch arguments.
 */
export function speechWav(sentences: readonly SpeechSentence[] = SPEECH_SENTENCES): SpeechWav {
  const key = createHash("sha256")
    .update(JSON.stringify({ v: 1, voice: FLITE_VOICE, rate: SPEECH_SAMPLE_RATE, lead: LEAD_MS, gap: GAP_MS, t: sentences.map((s) => s.text) }))
    .digest("hex")
    .slice(0, 12);
  const dir = path.join(os.tmpdir(), "earshot-e2e");
  const wavPath = path.join(dir, `speech-${key}.wav`);
  const metaPath = path.join(dir, `speech-${key}.json`);
  if (existsSync(wavPath) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, "utf8")) as Omit<SpeechWav, "path" | "sentences">;
    return { ...meta, path: wavPath, sentences };
  }
  mkdirSync(dir, { recursive: true });
  const work = path.join(dir, `speech-${key}-${process.pid}`);
  mkdirSync(work, { recursive: true });
  try {
    const parts: Buffer[] = [silence(LEAD_MS)];
    const phrases: SpokenPhrase[] = [];
    let ms = LEAD_MS;
    sentences.forEach((sentence, index) => {
      const raw = path.join(work, `${index}-raw.wav`);
      const trimmed = path.join(work, `${index}.wav`);
      execFileSync("flite", ["-voice", FLITE_VOICE, "-t", sentence.text, "-o", raw], { stdio: "pipe" });
      // 16 kHz mono s16; trim the voice's own leading and trailing silence (below 0.5 % for 20 ms).
      execFileSync(
        "sox",
        [raw, "-r", String(SPEECH_SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", trimmed, "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse"],
        { stdio: "pipe" },
      );
      const pcm = pcmOf(readFileSync(trimmed));
      const speechMs = pcm.length / BYTES_PER_MS;
      phrases.push({ index, text: sentence.text, startMs: ms, endMs: ms + speechMs });
      parts.push(pcm, silence(GAP_MS));
      ms += speechMs + GAP_MS;
    });
    const data = Buffer.concat(parts);
    const meta = { durationMs: data.length / BYTES_PER_MS, phrases };
    // Written under temporary names, then renamed: parallel workers never read half a file.
    writeFileSync(`${wavPath}.${process.pid}`, Buffer.concat([wavHeader(data.length), data]));
    writeFileSync(`${metaPath}.${process.pid}`, JSON.stringify(meta));
    renameSync(`${wavPath}.${process.pid}`, wavPath);
    renameSync(`${metaPath}.${process.pid}`, metaPath);
    return { ...meta, path: wavPath, sentences };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Whole samples of silence. */
function silence(ms: number): Buffer {
  return Buffer.alloc(Math.round((ms * SPEECH_SAMPLE_RATE) / 1000) * 2);
}

/** The PCM of a RIFF/WAVE file's `data` chunk. */
function pcmOf(wav: Buffer): Buffer {
  if (wav.toString("ascii", 0, 4) !== "RIFF" || wav.toString("ascii", 8, 12) !== "WAVE") throw new Error("not a WAV file");
  let offset = 12;
  while (offset + 8 <= wav.length) {
    const id = wav.toString("ascii", offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    if (id === "data") return wav.subarray(offset + 8, Math.min(wav.length, offset + 8 + size));
    offset += 8 + size + (size % 2);
  }
  throw new Error("WAV file without a data chunk");
}

function wavHeader(dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "ascii");
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write("WAVE", 8, "ascii");
  h.write("fmt ", 12, "ascii");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(SPEECH_SAMPLE_RATE, 24);
  h.writeUInt32LE(SPEECH_SAMPLE_RATE * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "ascii");
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/**
 * Launch options for a spec whose fake microphone plays this WAV instead of
 * the tone: `test.use({ launchOptions: speechLaunchOptions(speechWav()) })` at
 * the top of the spec file (Playwright then launches a browser of its own for
 * that file).
 */
export function speechLaunchOptions(wav: SpeechWav): { executablePath: string; args: string[] } {
  return { executablePath: CHROMIUM, args: chromiumArgs(wav.path) };
}
