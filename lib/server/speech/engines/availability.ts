import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { LanguageCode } from "../../../core/languages";
import type { SpeechEngines } from "../../../core/speech";
import type { Config } from "../../config";

/**
 * Which local engines are installed (binaries on PATH, models and Apertium
 * modes on disk), and from that and config, which engines are in effect.
 * Detection starts no process, so the web app may call it too.
 */

/** Debian's Apertium modes (one `.mode` file per pair: the pipeline of stages). */
export const APERTIUM_MODES_DIR = "/usr/share/apertium/modes";

/** Target language -> Apertium mode with English as the source (lib/core/speech.ts TRANSLATOR_PAIRS.local). */
export const APERTIUM_MODES: Partial<Record<LanguageCode, string>> = { es: "eng-spa", ca: "eng-cat", gl: "en-gl", eo: "en-eo" };

/** pocketsphinx-en-us: the acoustic model, language model and dictionary pocketsphinx_continuous loads by default. */
export const POCKETSPHINX_MODEL_FILES = [
  "/usr/share/pocketsphinx/model/en-us/en-us/mdef",
  "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin",
  "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict",
];

export const INSTALL_HINT = "npm run speech:install";

export interface InstalledEngines {
  pocketsphinx: boolean;
  /** Target languages whose Apertium pair is installed with every stage's binary. */
  apertium: LanguageCode[];
  espeak: boolean;
  /** What is missing, per engine, for notices. */
  missing: { pocketsphinx: string[]; apertium: string[]; espeak: string[] };
}

export function findOnPath(binary: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The stages of an Apertium `.mode` file: each a command line (program first). */
export function apertiumStages(modeText: string): string[] {
  return modeText
    .trim()
    .split(/\s*\|\s*/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function detectInstalled(options: { path?: string; modesDir?: string } = {}): InstalledEngines {
  const path = options.path ?? process.env.PATH ?? "";
  const modesDir = options.modesDir ?? APERTIUM_MODES_DIR;
  const missing: InstalledEngines["missing"] = { pocketsphinx: [], apertium: [], espeak: [] };

  if (!findOnPath("pocketsphinx_continuous", path)) missing.pocketsphinx.push("pocketsphinx_continuous");
  if (!findOnPath("sh", path) || !findOnPath("cat", path)) missing.pocketsphinx.push("sh/cat");
  for (const file of POCKETSPHINX_MODEL_FILES) if (!existsSync(file)) missing.pocketsphinx.push(file);

  const apertium: LanguageCode[] = [];
  const bash = Boolean(findOnPath("bash", path));
  if (!bash) missing.apertium.push("bash");
  for (const [language, mode] of Object.entries(APERTIUM_MODES) as [LanguageCode, string][]) {
    const file = join(modesDir, `${mode}.mode`);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      missing.apertium.push(`${mode} (${file})`);
      continue;
    }
    const absent = apertiumStages(text)
      .map((stage) => stage.split(/\s+/)[0] ?? "")
      .filter((program) => !findOnPath(program, path));
    if (absent.length > 0) missing.apertium.push(`${mode}: ${[...new Set(absent)].join(", ")}`);
    else if (bash) apertium.push(language);
  }

  for (const binary of ["espeak-ng", "lame"]) if (!findOnPath(binary, path)) missing.espeak.push(binary);

  return {
    pocketsphinx: missing.pocketsphinx.length === 0,
    apertium,
    espeak: missing.espeak.length === 0,
    missing,
  };
}

export interface SpeechStatus {
  engines: SpeechEngines;
  /** Why an engine is off, or partly so, with how to turn it on. */
  notices: string[];
  /** One line for the start-up banner. */
  summary: string;
  /** For local translation: the target languages whose Apertium pair is installed. */
  apertiumLanguages: LanguageCode[];
}

/** The engines in effect: configured, and for local ones installed. */
export function speechStatus(config: Pick<Config, "speech">, installed: InstalledEngines): SpeechStatus {
  const { asr, mt, tts } = config.speech;
  const notices: string[] = [];
  const notInstalled: string[] = [];

  const effAsr = asr === "local" && !installed.pocketsphinx ? "off" : asr;
  if (asr === "local" && !installed.pocketsphinx) {
    notInstalled.push("pocketsphinx");
    notices.push(`Speech recognition is off: pocketsphinx is not installed (missing ${brief(installed.missing.pocketsphinx)}). Run ${INSTALL_HINT}.`);
  }
  const effMt = mt === "local" && installed.apertium.length === 0 ? "off" : mt;
  if (mt === "local" && installed.apertium.length === 0) {
    notInstalled.push("apertium");
    notices.push(`Translation is off: Apertium is not installed (missing ${brief(installed.missing.apertium)}). Run ${INSTALL_HINT}.`);
  } else if (mt === "local" && installed.missing.apertium.length > 0) {
    notices.push(`Some Apertium pairs are missing (${brief(installed.missing.apertium)}); their languages fail. Run ${INSTALL_HINT}.`);
  }
  const effTts = tts === "local" && !installed.espeak ? "off" : tts;
  if (tts === "local" && !installed.espeak) {
    notInstalled.push("espeak-ng");
    notices.push(`Synthesized speech is off: ${installed.missing.espeak.join(" and ")} not installed. Run ${INSTALL_HINT}.`);
  }
  for (const [port, value, name] of [
    ["Speech recognition", asr, "EARSHOT_ASR"],
    ["Translation", mt, "EARSHOT_MT"],
    ["Synthesized speech", tts, "EARSHOT_TTS"],
  ] as const) {
    if (value === "off") notices.push(`${port} is off (${name}=off).`);
  }

  const engines: SpeechEngines = { asr: effAsr, mt: effMt, tts: effTts };
  const apertiumLanguages = mt === "local" ? installed.apertium : [];
  const parts = [
    effAsr === "local" ? "recognition pocketsphinx (en)" : effAsr === "aws" ? "recognition Amazon Transcribe" : "recognition off",
    effMt === "local" ? `translation Apertium (${apertiumLanguages.join(" ")})` : effMt === "aws" ? "translation Amazon Translate" : "translation off",
    effTts === "local" ? "voices espeak-ng" : effTts === "aws" ? "voices Amazon Polly" : "voices off",
  ];
  let summary = parts.join(" · ");
  if (effAsr === "off" && effMt === "off" && effTts === "off") {
    summary =
      notInstalled.length > 0
        ? `off — ${notInstalled.join(", ")} not installed: ${INSTALL_HINT}`
        : "off (EARSHOT_ASR, EARSHOT_MT, EARSHOT_TTS)";
  } else if (notInstalled.length > 0) {
    summary += `  (${notInstalled.join(", ")} not installed: ${INSTALL_HINT})`;
  }
  return { engines, notices, summary, apertiumLanguages };
}

function brief(items: string[]): string {
  return items.length <= 3 ? items.join("; ") : `${items.slice(0, 3).join("; ")} and ${items.length - 3} more`;
}
