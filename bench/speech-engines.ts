/**
 * The local speech engines alone, measured on this machine (not part of
 * `npm run bench`; run with `node --import tsx bench/speech-engines.ts`):
 * Apertium first call and per-sentence latency per pair, espeak-ng + lame ms
 * per sentence through the SDK path, pocketsphinx's delay from the end of a
 * phrase (audio fed in real time) to its utterance, and RSS per engine.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { LanguageCode } from "../lib/core/languages";
import { loadConfig } from "../lib/server/config";
import { ApertiumPair } from "../lib/server/speech/engines/apertium";
import { APERTIUM_MODES } from "../lib/server/speech/engines/availability";
import { createSpeechServices } from "../lib/server/speech/engines";
import { startPocketsphinx } from "../lib/server/speech/engines/pocketsphinx";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const SENTENCES = [
  "Good morning everyone.",
  "Thank you for coming to the meeting today.",
  "The weather is nice and the children are playing in the park.",
  "We will talk about the future of public transport in our city.",
  "Please ask your questions at the end of the talk.",
  "The new library opens next month.",
  "Our team worked hard on this project for two years.",
  "Trains will run every ten minutes during the day.",
  "I would like to thank the volunteers.",
  "Let us begin with a short history of the town.",
];

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** CPU seconds (user + system) used so far by every process in a process group. */
function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / 100;
}

/** RSS (MB) of every process in a process group. */
function groupRssMb(pgid: number): number {
  let kb = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) kb += Number(m[1]);
    } catch {
      // gone
    }
  }
  return Math.round(kb / 1024);
}

async function apertium(): Promise<void> {
  for (const [language, mode] of Object.entries(APERTIUM_MODES) as [LanguageCode, string][]) {
    const pair = new ApertiumPair({ mode, logger: quiet });
    let t = performance.now();
    await pair.translate(SENTENCES[0]!);
    const first = performance.now() - t;
    const each: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (const s of SENTENCES) {
        t = performance.now();
        await pair.translate(s);
        each.push(performance.now() - t);
      }
    }
    console.log(
      `apertium ${language} (${mode}): first call ${first.toFixed(0)} ms; per sentence p50 ${pct(each, 50).toFixed(1)} ms, p95 ${pct(each, 95).toFixed(1)} ms (n=${each.length}); RSS ${groupRssMb(pair.pid!)} MB`,
    );
    pair.close();
  }
}

async function synthesis(): Promise<void> {
  const speech = await createSpeechServices(loadConfig({ EARSHOT_ASR: "off", EARSHOT_MT: "off" }), { logger: quiet, warm: false });
  const spanish = ["Buenos días a todos.", "Gracias por venir a la reunión de hoy.", "El tiempo es bueno y los niños están jugando en el parque.", "Hablaremos sobre el futuro del transporte público.", "Por favor, hagan sus preguntas al final."];
  const ms: number[] = [];
  let bytes = 0;
  let audioMs = 0;
  await speech.synthesizer!.synthesize("Hola.", "es");
  for (let round = 0; round < 2; round++) {
    for (const s of spanish) {
      const t = performance.now();
      const out = await speech.synthesizer!.synthesize(s, "es");
      ms.push(performance.now() - t);
      bytes += out.audio.length;
      audioMs += out.durationMs;
    }
  }
  console.log(
    `espeak-ng + lame (es, via PollyClient in-process): p50 ${pct(ms, 50).toFixed(0)} ms, p95 ${pct(ms, 95).toFixed(0)} ms per sentence (n=${ms.length}); ${((bytes * 8) / audioMs).toFixed(1)} kbps; ${(audioMs / ms.length / 1000).toFixed(1)} s of speech per sentence`,
  );
  await speech.close();
}

async function recognition(postSpeechFrames?: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "earshot-bench-asr-"));
  const phrases = SENTENCES.slice(0, 5).map((text, i) => {
    execFileSync("flite", ["-voice", "slt", "-t", text, "-o", join(dir, `${i}.wav`)]);
    execFileSync("sox", [join(dir, `${i}.wav`), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", join(dir, `${i}.raw`)]);
    return readFileSync(join(dir, `${i}.raw`));
  });
  const gap = Buffer.alloc(16_000 * 2 * 1.2);
  const ends: number[] = [];
  const delays: number[] = [];
  const texts: string[] = [];
  let peakRss = 0;
  const stream = startPocketsphinx(
    {
      onUtterance: (u) => {
        texts.push(u.text);
        const end = ends[texts.length - 1];
        if (end !== undefined) delays.push(performance.now() - end);
      },
      onError: (e) => console.error(e),
    },
    postSpeechFrames === undefined ? {} : { postSpeechFrames },
  );
  const started = performance.now();
  let fed = 0;
  const feed = async (pcm: Buffer) => {
    for (let at = 0; at < pcm.length; at += 3200) {
      stream.write(pcm.subarray(at, at + 3200));
      fed += Math.min(3200, pcm.length - at);
      const due = started + (fed / 32_000) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    }
  };
  for (const pcm of phrases) {
    await feed(pcm);
    ends.push(performance.now());
    peakRss = Math.max(peakRss, groupRssMb(stream.pid!));
    await feed(gap);
  }
  const cpu = groupCpuSeconds(stream.pid!);
  const audioSeconds = fed / 32_000;
  await stream.end();
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `pocketsphinx (vad_postspeech ${postSpeechFrames ?? "50 (default)"}): end of phrase -> utterance p50 ${pct(delays, 50).toFixed(0)} ms, max ${Math.max(...delays).toFixed(0)} ms (n=${delays.length}); CPU ${(cpu / audioSeconds).toFixed(2)} x real time (${cpu.toFixed(1)} s for ${audioSeconds.toFixed(1)} s of audio, model load included); RSS ${peakRss} MB; heard: ${texts.join(" | ")}`,
  );
}

console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} on ${readFileSync("/proc/cpuinfo", "utf8").split("processor").length - 1} CPUs`);
const only = process.argv[2];
if (!only || only === "apertium") await apertium();
if (!only || only === "synthesis") await synthesis();
if (!only || only === "recognition") {
  await recognition();
  await recognition(25);
  await recognition(30);
}
console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} at the end`);
