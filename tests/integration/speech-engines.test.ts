/**
 * The local speech engines for real: Apertium chains, espeak-ng + lame, and
 * pocketsphinx, installed by `npm run speech:install`. Translation and
 * synthesis go through the real AWS SDK clients whose request handler
 * answers in-process (no network, nothing mocked). Waits are on results and
 * process state, never on sleeps.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PollyClient, SynthesizeSpeechCommand } from "@aws-sdk/client-polly";
import { TranslateClient, TranslateTextCommand } from "@aws-sdk/client-translate";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { LanguageCode } from "@/lib/core/languages";
import { loadConfig } from "@/lib/server/config";
import type { Logger } from "@/lib/server/control/ports";
import { ApertiumPair, ApertiumTranslator } from "@/lib/server/speech/engines/apertium";
import { detectInstalled } from "@/lib/server/speech/engines/availability";
import { EspeakSynthesizer } from "@/lib/server/speech/engines/espeak";
import { createSpeechServices, type ManagedSpeechServices } from "@/lib/server/speech/engines/index";
import { LocalPollyHandler, LocalTranslateHandler } from "@/lib/server/speech/engines/local-aws";
import { mp3DurationMs } from "@/lib/server/speech/engines/mp3";
import { startPocketsphinx, type Utterance } from "@/lib/server/speech/engines/pocketsphinx";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const IN_PROCESS = { accessKeyId: "EARSHOTLOCAL", secretAccessKey: "earshot-in-process" };

let dir: string;
let speech: ManagedSpeechServices;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "earshot-engines-"));
  const installed = detectInstalled();
  expect(installed, "run npm run speech:install").toMatchObject({ pocketsphinx: true, espeak: true });
  expect(installed.apertium.sort()).toEqual(["ca", "eo", "es", "gl"]);
  speech = await createSpeechServices(loadConfig({}), { logger: quiet, warm: false });
});

afterAll(async () => {
  await speech?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("translation: Apertium through TranslateClient", () => {
  const cases: [LanguageCode, string, string[]][] = [
    ["es", "The children are playing in the park.", ["niños", "parque"]],
    ["ca", "The children are playing in the park.", ["nens", "parc"]],
    ["gl", "The children are playing in the park.", ["nenos", "parque"]],
    ["eo", "The children are playing in the park.", ["infanoj", "parko"]],
    ["es", "Thank you very much for coming today.", ["gracias", "hoy"]],
    ["ca", "We will talk about public transport.", ["parlarem", "transport"]],
  ];
  it.each(cases)("en -> %s: %s", async (target, text, words) => {
    const out = await speech.translator!.translate(text, "en", target);
    for (const word of words) expect(out.toLowerCase()).toContain(word);
    expect(out).not.toMatch(/[\\^$\0]/);
  });

  it("keeps text with Apertium's reserved characters intact", async () => {
    const out = await speech.translator!.translate("The price is $5 [or more] / month.", "en", "es");
    expect(out).toContain("$5");
    expect(out).toContain("[");
    expect(out).toContain("/");
  });

  it("refuses a pair it does not have with UNSUPPORTED_LANGUAGE", async () => {
    await expect(speech.translator!.translate("Hello.", "en", "de")).rejects.toMatchObject({ code: "UNSUPPORTED_LANGUAGE" });
  });
});

describe("Apertium chains", () => {
  it("restarts a chain that was killed; other pairs keep answering", async () => {
    const translator = new ApertiumTranslator(["es", "eo"], quiet);
    try {
      const es = translator.pair("es")!;
      expect(await translator.translate("Good morning.", "en", "es")).toMatch(/Buenos días/i);
      const before = es.pid!;
      process.kill(-before, "SIGKILL");
      // The chain's exit is noticed and it comes back (in the background, after a short back-off).
      await vi.waitFor(() => expect(es.pid !== undefined && es.pid !== before).toBe(true), { timeout: 20_000, interval: 50 });
      expect(await translator.translate("Good night.", "en", "es")).toMatch(/noche/i);
      expect(es.starts).toBe(2);
      expect(await translator.translate("Good night.", "en", "eo")).toMatch(/Bonan nokton/i);
    } finally {
      translator.close();
    }
  });

  it("a broken pair fails with ENGINE_UNAVAILABLE and never blocks another", async () => {
    // es: a stage that does not exist; gl: a stage that swallows input and never answers.
    const hang = join(dir, "hang-stage");
    writeFileSync(hang, "#!/bin/sh\nexec sleep 600\n");
    chmodSync(hang, 0o755);
    writeFileSync(join(dir, "broken.mode"), "lt-proc-nonexistent '/nowhere/x.bin' | apertium-pretransfer\n");
    writeFileSync(join(dir, "hanging.mode"), `${hang} | cat\n`);
    const broken = new ApertiumTranslator(["es", "ca"], quiet, { modeFiles: { es: join(dir, "broken.mode") } });
    const hanging = new ApertiumPair({ mode: "hanging", modeFile: join(dir, "hanging.mode"), logger: quiet, timeoutMs: 1500 });
    try {
      const stuck = expect(hanging.translate("Hello.")).rejects.toMatchObject({ code: "ENGINE_UNAVAILABLE", message: expect.stringMatching(/did not answer/) });
      const failed = broken.translate("Hello.", "en", "es");
      const fine = broken.translate("The children are playing in the park.", "en", "ca");
      await expect(failed).rejects.toMatchObject({ code: "ENGINE_UNAVAILABLE" });
      expect(await fine).toContain("nens");
      await stuck;
      expect(await broken.translate("Good morning.", "en", "ca")).toMatch(/Bon dia/i);
    } finally {
      broken.close();
      hanging.close();
    }
  });

  it("answers many sentences queued at once, each to its own question, in order", async () => {
    const sentences = ["One cat.", "Two dogs.", "Three houses.", "Four cars.", "Five trees.", "Six books."];
    const out = await Promise.all(sentences.map((s) => speech.translator!.translate(s, "en", "es")));
    expect(out.map((t) => t.toLowerCase())).toEqual([
      expect.stringContaining("gato"),
      expect.stringContaining("perros"),
      expect.stringContaining("casas"),
      expect.stringContaining("coches"),
      expect.stringContaining("árboles"),
      expect.stringContaining("libros"),
    ]);
  });
});

describe("synthesis: espeak-ng -> lame through PollyClient", () => {
  it("speaks a sentence as MP3 with a plausible duration", async () => {
    const out = await speech.synthesizer!.synthesize("Buenos días a todos, gracias por venir a la reunión de hoy.", "es");
    expect(out.format).toBe("mp3");
    // MPEG audio frame sync (no ID3 tag from lame here).
    expect(out.audio[0]).toBe(0xff);
    expect(out.audio[1]! & 0xe0).toBe(0xe0);
    // ~12 words: 2-8 s; ~32 kbps: 4 KB per second of speech.
    expect(out.durationMs).toBeGreaterThan(2000);
    expect(out.durationMs).toBeLessThan(8000);
    const kbps = (out.audio.length * 8) / out.durationMs;
    expect(kbps).toBeGreaterThan(24);
    expect(kbps).toBeLessThan(48);
  });

  it("gives the duration espeak-ng's PCM has, within a frame or two", async () => {
    const espeak = new EspeakSynthesizer();
    const direct = await espeak.synthesize("Hola a todos.", "es");
    expect(Math.abs(mp3DurationMs(direct.audio) - direct.durationMs)).toBeLessThan(120);
  });

  it("speaks Galician with the Portuguese voice, and refuses a language without a voice", async () => {
    const gl = await speech.synthesizer!.synthesize("Bo día a todos.", "gl");
    expect(gl.durationMs).toBeGreaterThan(300);
    await expect(speech.synthesizer!.synthesize("Hello.", "ja")).rejects.toMatchObject({ code: "UNSUPPORTED_LANGUAGE" });
  });
});

describe("the in-process Translate and Polly handlers answer as the services would", () => {
  it("TranslateText: result, and the service's error shapes", async () => {
    const client = new TranslateClient({
      region: "eu-west-1",
      credentials: IN_PROCESS,
      maxAttempts: 1,
      requestHandler: new LocalTranslateHandler(async (text, source, target) => {
        if (target === "fr") throw Object.assign(new Error("engine down"), { name: "EarshotError", code: "ENGINE_UNAVAILABLE" });
        return `${source}->${target}:${text}`;
      }),
    });
    const ok = await client.send(new TranslateTextCommand({ Text: "Hi.", SourceLanguageCode: "en", TargetLanguageCode: "es" }));
    expect(ok).toMatchObject({ TranslatedText: "en->es:Hi.", SourceLanguageCode: "en", TargetLanguageCode: "es" });
    expect(ok.$metadata.httpStatusCode).toBe(200);
    await expect(client.send(new TranslateTextCommand({ Text: "Hi.", SourceLanguageCode: "en", TargetLanguageCode: "fr" }))).rejects.toMatchObject({
      name: "ServiceUnavailableException",
      $metadata: { httpStatusCode: 503 },
    });
    await expect(client.send(new TranslateTextCommand({ Text: "Hi.", SourceLanguageCode: "en", TargetLanguageCode: "xx" }))).rejects.toMatchObject({
      name: "UnsupportedLanguagePairException",
    });
    await expect(
      client.send(new TranslateTextCommand({ Text: "x".repeat(10_001), SourceLanguageCode: "en", TargetLanguageCode: "es" })),
    ).rejects.toMatchObject({ name: "TextSizeLimitExceededException" });
    client.destroy();
  });

  it("SynthesizeSpeech: audio stream with its headers, and the service's errors", async () => {
    const espeak = new EspeakSynthesizer();
    const client = new PollyClient({
      region: "eu-west-1",
      credentials: IN_PROCESS,
      maxAttempts: 1,
      requestHandler: new LocalPollyHandler(async (text, voice) => (await espeak.synthesize(text, voice)).audio),
    });
    const out = await client.send(new SynthesizeSpeechCommand({ Text: "Bonan tagon.", VoiceId: "eo" as never, OutputFormat: "mp3" }));
    expect(out.ContentType).toBe("audio/mpeg");
    expect(out.RequestCharacters).toBe(12);
    const audio = await out.AudioStream!.transformToByteArray();
    expect(mp3DurationMs(audio)).toBeGreaterThan(300);
    await expect(client.send(new SynthesizeSpeechCommand({ Text: "Hi.", VoiceId: "Joanna", OutputFormat: "mp3" }))).rejects.toMatchObject({
      name: "ValidationException",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(client.send(new SynthesizeSpeechCommand({ Text: "Hi.", VoiceId: "es" as never, OutputFormat: "pcm" }))).rejects.toMatchObject({
      name: "ValidationException",
    });
    await expect(client.send(new SynthesizeSpeechCommand({ Text: "x".repeat(3001), VoiceId: "es" as never, OutputFormat: "mp3" }))).rejects.toMatchObject({
      name: "TextLengthExceededException",
    });
    client.destroy();
  });
});

describe("recognition: pocketsphinx stream", () => {
  /** flite's slt voice, 16 kHz mono s16le: what the speaker's browser sends. */
  function spoken(text: string, file: string): Buffer {
    const wav = join(dir, `${file}.wav`);
    const pcm = join(dir, `${file}.raw`);
    execFileSync("flite", ["-voice", "slt", "-t", text, "-o", wav]);
    execFileSync("sox", [wav, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", pcm]);
    return readFileSync(pcm);
  }

  it("recognises flite-spoken sentences, one utterance each, with times in the stream", async () => {
    const first = spoken("Good morning everyone.", "a");
    const second = spoken("Thank you for coming to the meeting today.", "b");
    const silence = Buffer.alloc(16_000 * 2); // 1 s
    const audio = Buffer.concat([first, silence, second, silence]);
    const utterances: Utterance[] = [];
    const errors: Error[] = [];
    const stream = startPocketsphinx({ onUtterance: (u) => utterances.push(u), onError: (e) => errors.push(e) });
    for (let at = 0; at < audio.length; at += 3200) stream.write(audio.subarray(at, at + 3200)); // 100 ms chunks
    await stream.end();
    expect(errors).toEqual([]);
    expect(utterances.map((u) => u.text)).toEqual(["good morning everyone", "thank you for coming to the meeting today"]);
    const firstEnd = (first.length / 32_000) * 1000;
    const secondStart = firstEnd + 1000;
    expect(utterances[0]!.startMs).toBeLessThan(500);
    expect(Math.abs(utterances[0]!.endMs - firstEnd)).toBeLessThan(500);
    expect(Math.abs(utterances[1]!.startMs - secondStart)).toBeLessThan(500);
    expect(utterances[1]!.endMs).toBeGreaterThan(utterances[1]!.startMs);
  });

  it("reports a recogniser that dies", async () => {
    const errors: Error[] = [];
    const stream = startPocketsphinx({ onUtterance: () => undefined, onError: (e) => errors.push(e) });
    process.kill(-stream.pid!, "SIGKILL");
    await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 10_000, interval: 20 });
    expect(errors[0]).toMatchObject({ code: "ENGINE_UNAVAILABLE" });
  });
});
