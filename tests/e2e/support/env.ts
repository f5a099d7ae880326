import os from "node:os";
import path from "node:path";

/** Where the e2e server listens (a fixed port, loopback only). */
export const E2E_PORT = Number(process.env.EARSHOT_E2E_PORT ?? 3100);
export const E2E_BASE_URL = `http://127.0.0.1:${E2E_PORT}`;
/** The fake microphone's input: a 440 Hz tone written by global-setup.ts. */
export const TONE_WAV = path.join(os.tmpdir(), "earshot-e2e", "tone-440hz.wav");
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const DEMO_EMAIL = "speaker@earshot.local";
export const DEMO_PASSWORD = process.env.EARSHOT_DEMO_PASSWORD || "earshot-demo";

/** Chromium with fake media devices: the mic plays the WAV, permission prompts are accepted, audio may autoplay. */
export function chromiumArgs(wav: string = TONE_WAV): string[] {
  return [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--allow-loopback-in-peer-connection",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    `--use-file-for-fake-audio-capture=${wav}`,
    "--autoplay-policy=no-user-gesture-required",
  ];
}
