#!/usr/bin/env node
// `npm run speech:install`: the local speech engines of live translation, from
// Debian/Ubuntu packages: pocketsphinx + its US English model (recognition),
// Apertium with English to Spanish, Catalan, Galician and Esperanto
// (translation), espeak-ng + lame (synthesized speech as MP3); flite and sox
// speak and convert the test WAVs. Idempotent: when everything is installed it
// only checks (no apt). Elsewhere it says what to install by hand.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const PACKAGES = [
  ["pocketsphinx", "/usr/bin/pocketsphinx_continuous"],
  ["pocketsphinx-en-us", "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin"],
  ["apertium", "/usr/bin/apertium"],
  ["apertium-eng-spa", "/usr/share/apertium/modes/eng-spa.mode"],
  ["apertium-eng-cat", "/usr/share/apertium/modes/eng-cat.mode"],
  ["apertium-en-gl", "/usr/share/apertium/modes/en-gl.mode"],
  ["apertium-eo-en", "/usr/share/apertium/modes/en-eo.mode"],
  ["espeak-ng", "/usr/bin/espeak-ng"],
  ["lame", "/usr/bin/lame"],
  ["flite", "/usr/bin/flite"],
  ["sox", "/usr/bin/sox"],
];

const missing = PACKAGES.filter(([, file]) => !existsSync(file)).map(([pkg]) => pkg);
if (missing.length === 0) {
  console.log("speech:install: pocketsphinx, apertium (es ca gl eo), espeak-ng, lame, flite and sox are installed.");
  process.exit(0);
}

const list = missing.join(" ");
const hasApt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
if (!hasApt || !isRoot) {
  console.error(
    [
      `speech:install: missing ${list}.`,
      hasApt
        ? `Run as root:  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${list}`
        : "Install them with your system's package manager (Debian/Ubuntu package names above);",
      "Earshot runs without them: live translation is then off, and the start-up banner says so.",
    ].join("\n"),
  );
  process.exit(hasApt ? 1 : 2);
}

console.log(`speech:install: apt-get install ${list}`);
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
const apt = (args) => execFileSync("apt-get", args, { stdio: "inherit", env });
try {
  apt(["install", "-y", "--no-install-recommends", ...missing]);
} catch {
  // Package lists may be missing or stale (fresh containers): refresh once and retry.
  apt(["update"]);
  apt(["install", "-y", "--no-install-recommends", ...missing]);
}
const still = PACKAGES.filter(([, file]) => !existsSync(file)).map(([pkg]) => pkg);
if (still.length > 0) {
  console.error(`speech:install: still missing after apt-get: ${still.join(" ")}`);
  process.exit(1);
}
console.log("speech:install: done.");
