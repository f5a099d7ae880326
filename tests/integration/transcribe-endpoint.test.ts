/**
 * The embedded /transcribe endpoint as the runtime serves it, backed by a real
 * pocketsphinx, driven by the browser's transcribe-client (over `ws`, which
 * Node 20 lacks as a global): a flite-spoken WAV goes in as AudioEvents in
 * 100 ms chunks, TranscriptEvents come back; a bad grant is refused. Every
 * wait is on an event.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TranscribeResult } from "@/lib/core/transcribe-protocol";
import { openTranscribeStream, type BinarySocket } from "@/lib/client/speech/transcribe-client";
import { startEmbedded, type EmbeddedRuntime } from "@/lib/server/embedded/runtime";

const socket = (url: string) => new WebSocket(url) as unknown as BinarySocket;

let runtime: EmbeddedRuntime;
let dir: string;

function spoken(text: string, file: string): Buffer {
  const wav = join(dir, `${file}.wav`);
  const raw = join(dir, `${file}.raw`);
  execFileSync("flite", ["-voice", "slt", "-t", text, "-o", wav]);
  execFileSync("sox", [wav, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", raw]);
  return readFileSync(raw);
}

/** The HTTP status the upgrade gets (101 when it is accepted). */
function upgradeStatus(url: URL): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("upgrade", () => resolve(101));
    ws.on("open", () => ws.close());
    ws.on("error", (error) => (error.message.includes("Unexpected server response") ? undefined : reject(error)));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "earshot-transcribe-"));
  runtime = await startEmbedded({
    web: "none",
    demoSpeaker: false,
    env: { ...process.env, NODE_ENV: "test", EARSHOT_DATA: "memory", PORT: "0", HOST: "127.0.0.1", EARSHOT_LOG_LEVEL: "warn", EARSHOT_MT: "off", EARSHOT_TTS: "off" },
  });
  expect(runtime.speech.engines.asr, runtime.speech.notices.join(" ")).toBe("local");
});

afterAll(async () => {
  await runtime?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("/transcribe", () => {
  it("recognises flite-spoken sentences streamed as AudioEvents", async () => {
    const url = await runtime.speech.recognizerUrl!("quiet-harbor-042", "speaker-1");
    expect(url).toMatch(/^ws:\/\/[^/]+\/transcribe\?/);
    const results: TranscribeResult[] = [];
    let closed: ((error?: Error) => void) | undefined;
    const done = new Promise<Error | undefined>((resolve) => (closed = resolve));
    let both: (() => void) | undefined;
    const twoResults = new Promise<void>((resolve) => (both = resolve));
    const stream = await openTranscribeStream(
      url!,
      {
        onResult: (r) => {
          results.push(r as TranscribeResult);
          if (results.length === 2) both?.();
        },
        onClose: (error) => closed?.(error),
      },
      socket,
    );
    const silence = Buffer.alloc(16_000 * 2);
    const audio = Buffer.concat([spoken("Good morning everyone.", "a"), silence, spoken("Thank you for coming to the meeting today.", "b"), silence]);
    for (let at = 0; at < audio.length; at += 3200) {
      const chunk = audio.subarray(at, at + 3200);
      stream.send(new Int16Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength)));
    }
    // Sent faster than real time: the recogniser catches up, then the stream ends.
    await twoResults;
    await stream.end();
    expect(await done).toBeUndefined();
    expect(results.map((r) => r.text)).toEqual(["good morning everyone", "thank you for coming to the meeting today"]);
    expect(results.every((r) => !r.partial)).toBe(true);
    expect(results[1]!.startMs).toBeGreaterThan(results[0]!.endMs);
    expect(new Set(results.map((r) => r.resultId)).size).toBe(2);
  });

  it("refuses a bad grant and a wrong language before any audio", async () => {
    const url = new URL((await runtime.speech.recognizerUrl!("quiet-harbor-042", "speaker-1"))!);
    const handlers = { onResult: () => undefined, onClose: () => undefined };
    const forged = new URL(url);
    forged.searchParams.set("grant", `${url.searchParams.get("grant")!.slice(0, -4)}AAAA`);
    await expect(openTranscribeStream(forged.toString(), handlers, socket)).rejects.toThrow();
    expect(await upgradeStatus(forged)).toBe(401);
    const none = new URL(url);
    none.searchParams.delete("grant");
    expect(await upgradeStatus(none)).toBe(401);
    const german = new URL(url);
    german.searchParams.set("language-code", "de-DE");
    expect(await upgradeStatus(german)).toBe(400);
    expect(await upgradeStatus(url)).toBe(101);
  });
});
