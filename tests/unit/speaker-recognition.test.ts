import { describe, expect, it, vi } from "vitest";
import type { ClientMessage, RecognizerMessage, ServerMessage } from "@/lib/core/protocol";
import type { RecognizerResult } from "@/lib/core/segmenter";
import type { ControlChannel } from "@/lib/client/control-channel";
import type { PcmCaptureOptions } from "@/lib/client/media/pcm-capture";
import { SpeakerRecognition, type TranscribeHandlers } from "@/lib/client/speech/recognition";

/**
 * SpeakerRecognition without a browser: a fake control channel (records
 * requests, answers getRecognizer), a fake Transcribe stream (the test
 * pushes results and drops it) and a fake capture (the test delivers PCM
 * chunks). Checks what is submitted: seqs from the server's nextSeq, times
 * that only grow across streams, spokenAt at the phrase end on the wall
 * clock, a dropped stream reopened, pause stopping everything.
 */

type Sent = Extract<ClientMessage, { action: "submitTranscript" }>;

class FakeChannel {
  state = "open";
  sent: Sent[] = [];
  recognizerCalls = 0;
  nextSeq = 0;
  private handlers = new Set<(m: ServerMessage) => void>();
  on(_event: "message", handler: (m: ServerMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
  push(message: ServerMessage): void {
    for (const h of this.handlers) h(message);
  }
  async request(message: { action: string } & Record<string, unknown>): Promise<unknown> {
    if (message.action === "getRecognizer") {
      this.recognizerCalls++;
      const reply: RecognizerMessage = { type: "recognizer", sessionId: "s", engine: "local", languageCode: "en-US", sampleRate: 16000, url: "ws://x/transcribe", nextSeq: this.nextSeq };
      return reply;
    }
    if (message.action === "submitTranscript") {
      this.sent.push({ ...(message as unknown as Sent) });
      return { type: "transcriptAccepted", sessionId: "s", seq: message.seq };
    }
    throw new Error(`unexpected ${message.action}`);
  }
}

function setup(options: { nextSeq?: number } = {}) {
  const channel = new FakeChannel();
  channel.nextSeq = options.nextSeq ?? 0;
  let clock = 1_000_000;
  const now = () => clock;
  const streams: { handlers: TranscribeHandlers; chunks: number; closed: boolean }[] = [];
  const captures: { options: PcmCaptureOptions; stopped: boolean }[] = [];
  const recognition = new SpeakerRecognition({
    channel: channel as unknown as ControlChannel,
    sessionId: "s",
    sourceLanguage: "en",
    now,
    openTranscribe: async (_r, handlers) => {
      const stream = { handlers, chunks: 0, closed: false };
      streams.push(stream);
      return {
        send: () => void stream.chunks++,
        end: async () => void (stream.closed = true),
        close: () => void (stream.closed = true),
      };
    },
    startCapture: async (_s, o) => {
      const capture = { options: o, stopped: false };
      captures.push(capture);
      return { stop: async () => void (capture.stopped = true) };
    },
  });
  const chunk = () => captures.at(-1)!.options.onChunk(new Int16Array(1600));
  return {
    channel,
    recognition,
    streams,
    captures,
    chunk,
    advance: (ms: number) => (clock += ms),
    result: (r: RecognizerResult) => streams.at(-1)!.handlers.onResult(r),
  };
}

const mic = {} as MediaStream;

describe("SpeakerRecognition", () => {
  it("streams, segments and submits finals with spokenAt at the phrase end", async () => {
    const t = setup();
    t.recognition.update(mic, true);
    await vi.waitFor(() => expect(t.recognition.getState().recognizer.status).toBe("listening"));
    expect(t.captures[0]!.options.sampleRate).toBe(16000);
    t.chunk(); // stream time 0 = now - 100 ms
    const epoch = 1_000_000 - 100;
    t.advance(3000);
    t.result({ resultId: "u1", text: "good morning my friends", startMs: 500, endMs: 2200, partial: false });
    await vi.waitFor(() => expect(t.channel.sent).toHaveLength(1));
    expect(t.channel.sent[0]).toMatchObject({ seq: 0, text: "good morning my friends", final: true, startMs: 500, endMs: 2200 });
    // spokenAt: the stream's start on the wall clock plus the phrase end.
    expect(t.channel.sent[0]!.spokenAt).toBe(epoch + 2200);
    expect(t.recognition.getState().lines.map((l) => l.text)).toEqual(["good morning my friends"]);
    expect(t.streams[0]!.chunks).toBe(1);
  });

  it("continues at the server's nextSeq (a reloaded page)", async () => {
    const t = setup({ nextSeq: 7 });
    t.recognition.update(mic, true);
    await vi.waitFor(() => expect(t.recognition.getState().recognizer.status).toBe("listening"));
    t.chunk();
    t.result({ resultId: "a", text: "the house is very big", startMs: 0, endMs: 1000, partial: false });
    await vi.waitFor(() => expect(t.channel.sent).toHaveLength(1));
    expect(t.channel.sent[0]!.seq).toBe(7);
  });

  it("reopens a dropped stream; times keep growing across streams", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const t = setup();
      t.recognition.update(mic, true);
      await vi.waitFor(() => expect(t.recognition.getState().recognizer.status).toBe("listening"));
      t.chunk();
      t.result({ resultId: "a", text: "we need more time", startMs: 100, endMs: 900, partial: false });
      t.advance(5000);
      t.streams[0]!.handlers.onClose(new Error("gone"));
      expect(t.recognition.getState().recognizer).toMatchObject({ status: "error", retrying: true });
      expect(t.captures[0]!.stopped).toBe(true);
      await vi.advanceTimersByTimeAsync(1000);
      await vi.waitFor(() => expect(t.recognition.getState().recognizer.status).toBe("listening"));
      expect(t.streams).toHaveLength(2);
      t.chunk(); // the new stream's time 0 is 5 s after the first's
      t.result({ resultId: "b", text: "the door is open", startMs: 100, endMs: 900, partial: false });
      await vi.waitFor(() => expect(t.channel.sent).toHaveLength(2));
      expect(t.channel.sent.map((s) => s.seq)).toEqual([0, 1]);
      expect(t.channel.sent[1]!.startMs).toBeGreaterThan(t.channel.sent[0]!.endMs);
      expect(t.channel.sent[1]!.startMs).toBe(5000 + 100);
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops while paused or muted and starts again after", async () => {
    const t = setup();
    t.recognition.update(mic, true);
    await vi.waitFor(() => expect(t.recognition.getState().recognizer.status).toBe("listening"));
    t.recognition.update(mic, false);
    expect(t.recognition.getState().recognizer.status).toBe("off");
    expect(t.streams[0]!.closed).toBe(true);
    expect(t.captures[0]!.stopped).toBe(true);
    t.recognition.update(mic, true);
    await vi.waitFor(() => expect(t.recognition.getState().recognizer.status).toBe("listening"));
    expect(t.streams).toHaveLength(2);
  });

  it("fills the per-language status and the transcript's translations from segmentProcessed", async () => {
    const t = setup();
    t.recognition.update(mic, true);
    await vi.waitFor(() => expect(t.recognition.getState().recognizer.status).toBe("listening"));
    t.chunk();
    t.result({ resultId: "a", text: "the house is very big", startMs: 0, endMs: 1000, partial: false });
    t.channel.push({
      type: "segmentProcessed",
      sessionId: "s",
      seq: 0,
      text: "The house is very big.",
      languages: [
        { language: "es", listeners: 2, speechListeners: 1, text: "La casa es muy grande.", captionLagMs: 800, speechLagMs: 1300 },
        { language: "ca", listeners: 1, speechListeners: 1, error: { code: "ENGINE_UNAVAILABLE", message: "Apertium died" } },
      ],
    });
    const state = t.recognition.getState();
    expect(state.pipeline.es).toMatchObject({ captionLagMs: 800, speechProduced: true, listeners: 2 });
    expect(state.pipeline.ca).toMatchObject({ speechProduced: false, error: { code: "ENGINE_UNAVAILABLE" } });
    expect(state.lines[0]).toMatchObject({ translations: { es: "La casa es muy grande." }, lags: { es: 800 } });
  });

  it("says the server has no recogniser when getRecognizer answers off", async () => {
    const t = setup();
    t.channel.request = async (m) => {
      if (m.action === "getRecognizer") return { type: "recognizer", sessionId: "s", engine: "off", languageCode: "en-US", sampleRate: 16000 };
      throw new Error("unexpected");
    };
    t.recognition.update(mic, true);
    await vi.waitFor(() => expect(t.recognition.getState().recognizer).toMatchObject({ status: "off", reason: expect.stringContaining("off on this server") }));
    expect(t.streams).toHaveLength(0);
  });
});
