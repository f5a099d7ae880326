import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  EventStreamError,
  crc32,
  decodeMessage,
  decodeTranscribeFrame,
  encodeAudioEvent,
  encodeException,
  encodeMessage,
  encodeTranscriptEvent,
} from "@/lib/core/transcribe-protocol";
import { presignTranscribeUrl, transcribeEndpoint } from "@/lib/client/speech/transcribe-client";

describe("event-stream codec", () => {
  it("computes the IEEE CRC-32 (the check value of '123456789' is cbf43926)", () => {
    expect(crc32(new TextEncoder().encode("123456789")).toString(16)).toBe("cbf43926");
  });

  it("round-trips an AudioEvent with its headers and PCM payload", () => {
    const pcm = new Uint8Array([1, 2, 3, 4, 250, 251]);
    const frame = encodeAudioEvent(pcm);
    expect(new DataView(frame.buffer).getUint32(0)).toBe(frame.length);
    const decoded = decodeMessage(frame);
    expect(decoded.headers).toEqual({ ":content-type": "application/octet-stream", ":event-type": "AudioEvent", ":message-type": "event" });
    expect([...decoded.payload]).toEqual([...pcm]);
    expect(decodeTranscribeFrame(frame)).toEqual({ kind: "audio", pcm });
  });

  it("reads a TranscriptEvent as Earshot's recogniser results (seconds to ms)", () => {
    const frame = encodeTranscriptEvent({
      Transcript: { Results: [{ ResultId: "r1", StartTime: 0.52, EndTime: 1.875, IsPartial: true, Alternatives: [{ Transcript: "good morning" }] }] },
    });
    expect(decodeTranscribeFrame(frame)).toEqual({ kind: "results", results: [{ resultId: "r1", text: "good morning", startMs: 520, endMs: 1875, partial: true }] });
  });

  it("reads an exception's type and message", () => {
    expect(decodeTranscribeFrame(encodeException("BadRequestException", "Bad audio"))).toEqual({ kind: "exception", type: "BadRequestException", message: "Bad audio" });
  });

  it("refuses a frame whose CRCs or lengths do not hold", () => {
    const frame = encodeAudioEvent(new Uint8Array([1, 2, 3, 4]));
    const flipped = frame.slice();
    flipped[frame.length - 6]! ^= 0xff;
    expect(() => decodeMessage(flipped)).toThrow(/message CRC/);
    const prelude = frame.slice();
    prelude[5]! ^= 0x01;
    expect(() => decodeMessage(prelude)).toThrow(/prelude CRC/);
    expect(() => decodeMessage(frame.subarray(0, frame.length - 1))).toThrow(EventStreamError);
    expect(() => decodeMessage(new Uint8Array(3))).toThrow(/prelude/);
  });

  it("never throws anything but EventStreamError on arbitrary bytes, nor on valid frames with corrupted headers", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeTranscribeFrame(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(EventStreamError);
        }
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(), (junk, at) => {
        // Headers rewritten but CRCs recomputed: the header parser itself must stay safe.
        const base = encodeMessage({ headers: { ":message-type": "event", ":event-type": "AudioEvent" }, payload: new Uint8Array(2) });
        const headersLength = new DataView(base.buffer).getUint32(4);
        const frame = base.slice();
        const start = at % headersLength;
        frame.set(junk.subarray(0, headersLength - start), 12 + start);
        const view = new DataView(frame.buffer);
        view.setUint32(frame.length - 4, crc32(frame, 0, frame.length - 4));
        try {
          decodeTranscribeFrame(frame);
        } catch (e) {
          expect(e).toBeInstanceOf(EventStreamError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("Transcribe presigned URL", () => {
  // The expected signature is computed here independently, from the SigV4 rules, with Node's crypto.
  const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
  const hmac = (key: Buffer | string, s: string) => createHmac("sha256", key).update(s).digest();

  it("is a SigV4 query-signed wss URL for service transcribe, with the session token signed", async () => {
    const date = new Date(Date.UTC(2026, 11, 2, 3, 4, 5));
    const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "tok/en+=" };
    const url = new URL(await presignTranscribeUrl({ region: "eu-west-1", languageCode: "en-US", sampleRate: 16000, credentials, date }));
    expect(`${url.protocol}//${url.host}${url.pathname}`).toBe(transcribeEndpoint("eu-west-1"));
    const q = url.searchParams;
    expect(q.get("language-code")).toBe("en-US");
    expect(q.get("media-encoding")).toBe("pcm");
    expect(q.get("sample-rate")).toBe("16000");
    expect(q.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(q.get("X-Amz-Credential")).toBe("AKIDEXAMPLE/20261202/eu-west-1/transcribe/aws4_request");
    expect(q.get("X-Amz-Date")).toBe("20261202T030405Z");
    expect(q.get("X-Amz-SignedHeaders")).toBe("host");
    expect(q.get("X-Amz-Security-Token")).toBe("tok/en+=");
    expect(Number(q.get("X-Amz-Expires"))).toBeLessThanOrEqual(300);

    const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const params = [...q.entries()].filter(([k]) => k !== "X-Amz-Signature").sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const canonicalQuery = params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&");
    const canonical = ["GET", "/stream-transcription-websocket", canonicalQuery, `host:${url.host}\n`, "host", sha256("")].join("\n");
    const scope = "20261202/eu-west-1/transcribe/aws4_request";
    const toSign = ["AWS4-HMAC-SHA256", "20261202T030405Z", scope, sha256(canonical)].join("\n");
    const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, "20261202"), "eu-west-1"), "transcribe"), "aws4_request");
    expect(q.get("X-Amz-Signature")).toBe(createHmac("sha256", key).update(toSign).digest("hex"));
  });
});
