import { describe, expect, it, vi } from "vitest";
import type { RecognizerMessage } from "@/lib/core/protocol";
import { openTranscribeWith, TranscribeStreamError, type BinarySocket } from "@/lib/client/speech/transcribe-client";

/**
 * The speaker's Amazon Transcribe path (`aws`): credentials are asked for as
 * the MASTER asks for them (the app's /api/speaker/kvs-credentials with a
 * channel of the session, which scopes them to that session), then the URL
 * is presigned with them. AWS is not called: the socket is a stand-in that
 * opens at once and records the URL it was given.
 */

function fakeSocket(urls: string[]) {
  return (url: string): BinarySocket => {
    urls.push(url);
    const socket: BinarySocket = {
      binaryType: "",
      readyState: 0,
      onopen: null,
      onmessage: null,
      onclose: null,
      onerror: null,
      send: () => undefined,
      close: () => undefined,
    };
    queueMicrotask(() => {
      (socket as { readyState: number }).readyState = 1;
      socket.onopen?.({});
    });
    return socket;
  };
}

const handlers = { onResult: () => undefined, onClose: () => undefined };
const AWS: RecognizerMessage = {
  type: "recognizer",
  sessionId: "pure-psalm-481",
  engine: "aws",
  languageCode: "en-US",
  sampleRate: 16000,
  region: "eu-west-1",
  identityPoolId: "eu-west-1:x",
  channelName: "earshot-pure-psalm-481-0",
};

describe("openTranscribe, aws", () => {
  it("asks the app for the session's credentials with its channel and presigns Transcribe's URL with them", async () => {
    const fetch = vi.fn(async () =>
      new Response(JSON.stringify({ accessKeyId: "ASIASESSION", secretAccessKey: "secret", sessionToken: "token", expiration: Date.now() + 3_600_000 }), { status: 200 }),
    );
    const urls: string[] = [];
    const stream = await openTranscribeWith(AWS, handlers, fetch as unknown as typeof globalThis.fetch, fakeSocket(urls), "/api/speaker/kvs-credentials?t=transcribe");
    expect(fetch).toHaveBeenCalledWith("/api/speaker/kvs-credentials?t=transcribe&channel=earshot-pure-psalm-481-0", { cache: "no-store" });
    expect(urls).toHaveLength(1);
    const url = new URL(urls[0]!);
    expect(`${url.protocol}//${url.host}${url.pathname}`).toBe("wss://transcribestreaming.eu-west-1.amazonaws.com:8443/stream-transcription-websocket");
    expect(url.searchParams.get("X-Amz-Credential")).toMatch(/^ASIASESSION\/\d{8}\/eu-west-1\/transcribe\/aws4_request$/);
    expect(url.searchParams.get("X-Amz-Security-Token")).toBe("token");
    expect(url.searchParams.get("language-code")).toBe("en-US");
    stream.close();
  });

  it("refuses without a channel to name the session by, and says why when the app refuses", async () => {
    const fetch = vi.fn(async () => new Response("{}", { status: 404 }));
    const f = fetch as unknown as typeof globalThis.fetch;
    await expect(openTranscribeWith({ ...AWS, channelName: undefined }, handlers, f, fakeSocket([]))).rejects.toBeInstanceOf(TranscribeStreamError);
    expect(fetch).not.toHaveBeenCalled();
    await expect(openTranscribeWith({ ...AWS, channelName: "earshot-other-1-0" }, handlers, f, fakeSocket([]), "/creds?t=refused")).rejects.toMatchObject({
      code: "CHANNEL_CONFIG",
      message: expect.stringContaining("HTTP 404"),
    });
  });
});
