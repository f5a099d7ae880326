import { describe, expect, it } from "vitest";
import { loadConfig } from "@/lib/server/config";
import { escapeApertium, nullFlushPipeline, unescapeApertium } from "@/lib/server/speech/engines/apertium";
import { speechStatus, type InstalledEngines } from "@/lib/server/speech/engines/availability";
import { parseWav } from "@/lib/server/speech/engines/espeak";
import { mp3DurationMs } from "@/lib/server/speech/engines/mp3";
import { UtteranceParser, endlessWavHeader, type Utterance } from "@/lib/server/speech/engines/pocketsphinx";

describe("Apertium stream format", () => {
  it("escapes reserved characters and flattens whitespace; unescapes the answer", () => {
    const text = "a\\b [c] ^d$ e/f @g <h> {i} ~j *k #l |m\n\tn\u0000";
    const escaped = escapeApertium(text);
    expect(escaped).toBe("a\\\\b \\[c\\] \\^d\\$ e\\/f \\@g \\<h\\> \\{i\\} \\~j \\*k \\#l \\|m n");
    expect(unescapeApertium(escaped)).toBe("a\\b [c] ^d$ e/f @g <h> {i} ~j *k #l |m n");
    expect(unescapeApertium(" Hola[][\n] mundo. ")).toBe("Hola mundo.");
  });

  it("puts -z on every stage of a mode and leaves unknown words unmarked", () => {
    const mode = "lt-proc '/x/a.bin' | apertium-tagger -g $2 '/x/p.prob' | lt-proc $1 '/x/gen.bin' | lt-proc -p '/x/pgen.bin'\n";
    expect(nullFlushPipeline(mode)).toBe("lt-proc -z '/x/a.bin' | apertium-tagger -z -g  '/x/p.prob' | lt-proc -z -n '/x/gen.bin' | lt-proc -z -p '/x/pgen.bin'");
  });
});

describe("pocketsphinx output", () => {
  it("turns a hypothesis and its word times into one utterance, fillers and alternates dropped", () => {
    const out: Utterance[] = [];
    const p = new UtteranceParser((u) => out.push(u));
    for (const line of [
      "good morning everyone",
      "<s> 0.110 0.170 0.999700",
      "good(2) 0.180 0.350 0.160765",
      "morning 0.360 0.770 0.992229",
      "<sil> 0.780 0.800 0.9",
      "everyone 0.810 1.420 1.000100",
      "</s> 1.430 1.670 1.000000",
      "thank you",
      "<s> 2.570 2.640 0.999600",
      "thank 2.650 3.010 0.685475",
      "you 3.020 3.110 0.996306",
    ])
      p.line(line);
    expect(out).toEqual([{ text: "good morning everyone", startMs: 180, endMs: 1420 }]);
    p.flush();
    expect(out[1]).toEqual({ text: "thank you", startMs: 2650, endMs: 3110 });
  });

  it("writes a 16 kHz mono s16le WAV header with endless sizes", () => {
    const h = endlessWavHeader();
    expect(h.length).toBe(44);
    expect(h.toString("ascii", 0, 4)).toBe("RIFF");
    expect(h.readUInt32LE(24)).toBe(16000);
    expect(h.readUInt16LE(22)).toBe(1);
    expect(h.readUInt16LE(34)).toBe(16);
    expect(h.readUInt32LE(40)).toBeGreaterThan(2 ** 31);
  });
});

describe("audio", () => {
  it("reads espeak-ng's streaming WAV to its end", () => {
    const header = endlessWavHeader(22050);
    const wav = Buffer.concat([header, Buffer.alloc(22050 * 2 + 1)]);
    const { pcm, sampleRate } = parseWav(wav);
    expect(sampleRate).toBe(22050);
    expect(pcm.length).toBe(22050 * 2);
    expect(() => parseWav(Buffer.from("not a wav at all"))).toThrow(/WAV/);
  });

  it("sums MP3 frame durations, skipping an ID3 tag and the Info frame", () => {
    // MPEG-2 layer III, 32 kbps, 22.05 kHz, mono: 576 samples, 104 bytes a frame.
    const frame = (info = false) => {
      const f = Buffer.alloc(104);
      f[0] = 0xff;
      f[1] = 0xf3;
      f[2] = 0x40;
      f[3] = 0xc4;
      if (info) f.write("Info", 4 + 9, "ascii");
      return f;
    };
    const id3 = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5]);
    const mp3 = Buffer.concat([id3, frame(true), ...Array.from({ length: 100 }, () => frame())]);
    expect(mp3DurationMs(mp3)).toBe(Math.round((100 * 576 * 1000) / 22050));
    expect(mp3DurationMs(new Uint8Array(0))).toBe(0);
  });
});

describe("engines in effect", () => {
  const all: InstalledEngines = { pocketsphinx: true, apertium: ["ca", "eo", "es", "gl"], espeak: true, missing: { pocketsphinx: [], apertium: [], espeak: [] } };
  const none: InstalledEngines = {
    pocketsphinx: false,
    apertium: [],
    espeak: false,
    missing: { pocketsphinx: ["pocketsphinx_continuous"], apertium: ["eng-spa (x)"], espeak: ["espeak-ng", "lame"] },
  };

  it("says what runs when everything is installed", () => {
    const s = speechStatus(loadConfig({}), all);
    expect(s.engines).toEqual({ asr: "local", mt: "local", tts: "local", mtTargets: ["ca", "eo", "es", "gl"] });
    expect(s.summary).toBe("recognition pocketsphinx (en) · translation Apertium (ca eo es gl) · voices espeak-ng");
    expect(s.notices).toEqual([]);
  });

  it("turns uninstalled engines off and says how to install them", () => {
    const s = speechStatus(loadConfig({}), none);
    expect(s.engines).toEqual({ asr: "off", mt: "off", tts: "off" });
    expect(s.summary).toBe("off — pocketsphinx, apertium, espeak-ng not installed: npm run speech:install");
    expect(s.notices).toHaveLength(3);
    for (const n of s.notices) expect(n).toMatch(/npm run speech:install/);
  });

  it("keeps configured-off and cloud engines as they are", () => {
    const s = speechStatus(loadConfig({ EARSHOT_ASR: "off", EARSHOT_MT: "aws", EARSHOT_TTS: "off" }), none);
    expect(s.engines).toEqual({ asr: "off", mt: "aws", tts: "off" });
    expect(s.summary).toBe("recognition off · translation Amazon Translate · voices off");
    expect(s.notices).toEqual(["Speech recognition is off (EARSHOT_ASR=off).", "Synthesized speech is off (EARSHOT_TTS=off)."]);
  });
});
