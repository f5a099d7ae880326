import { refuseUpgrade } from "../embedded/upgrade-refusal";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, WebSocket, type RawData } from "ws";
import { EarshotError, type ErrorCode } from "../../core/errors";
import {
  EventStreamError,
  MAX_EVENT_BYTES,
  TRANSCRIBE_SAMPLE_RATE,
  decodeTranscribeFrame,
  encodeException,
  encodeTranscriptEvent,
} from "../../core/transcribe-protocol";
import type { Logger } from "../control/ports";
import type { TokenSigner, TokenVerifier } from "../tokens";

/**
 * The embedded runtime's recognition endpoint, `/transcribe`: Amazon
 * Transcribe's streaming WebSocket protocol (see lib/core/transcribe-protocol.ts)
 * in front of a local recogniser (pocketsphinx). The speaker's browser talks
 * to it exactly as it talks to Amazon Transcribe in the cloud; only the URL
 * differs (a grant from `getRecognizer` instead of a SigV4 signature).
 *
 * One stream per session: a new stream of the same session (the speaker
 * reloaded the page) replaces the old one. A global cap bounds the
 * recogniser processes. Everything a client sends is checked; a bad frame
 * gets a BadRequestException and a close, never a crash.
 */

/** What the endpoint needs of a recogniser: PCM in, utterances out. */
export interface StreamingRecognizer {
  /** 16 kHz mono s16le PCM. */
  write(pcm: Buffer): void;
  /** Stops the process; resolves when it is gone. */
  close(): Promise<void>;
}

export interface Utterance {
  text: string;
  /** ms of audio from the start of the stream. */
  startMs: number;
  endMs: number;
}

export type RecognizerFactory = (handlers: { onUtterance(u: Utterance): void; onError(error: Error): void }) => StreamingRecognizer;

export interface TranscribeEndpointOptions {
  verifier: TokenVerifier;
  signer: TokenSigner;
  recognizer: RecognizerFactory;
  logger: Logger;
  /** Recogniser streams at once, over all sessions. */
  maxStreams: number;
  /** Language codes the recogniser serves (Transcribe style, e.g. en-US). */
  languageCodes: readonly string[];
  /** A stream with no audio for this long is closed (ms, default 60 s). */
  idleTimeoutMs?: number;
}

export interface TranscribeEndpoint {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** The URL the speaker's browser opens for a session (ws(s) on the public origin, grant in the query). */
  urlFor(publicUrl: string, sessionId: string, speakerId: string, languageCode: string): Promise<string>;
  /** Streams now open. */
  streams(): number;
  close(): Promise<void>;
}

export const TRANSCRIBE_PATH = "/transcribe";

class Refused extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly httpStatus: number,
  ) {
    super(message);
  }
}

interface Stream {
  ws: WebSocket;
  sessionId: string;
  recognizer?: StreamingRecognizer;
  idle?: NodeJS.Timeout;
  utterances: number;
}

export function createTranscribeEndpoint(options: TranscribeEndpointOptions): TranscribeEndpoint {
  const { verifier, signer, logger } = options;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_EVENT_BYTES, perMessageDeflate: false });
  const bySession = new Map<string, Stream>();
  const live = new Set<Stream>();
  let closing = false;

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ignore = (error: Error) => logger.debug("transcribe socket error before upgrade", { error });
    socket.on("error", ignore);
    const fail = (error: unknown) => {
      const r = error instanceof Refused ? error : new Refused("INTERNAL_ERROR", "Something went wrong on our side.", 500);
      if (!(error instanceof Refused)) logger.error("transcribe upgrade failed", { error });
      else logger.info("transcribe connect refused", { status: r.httpStatus, code: r.code, reason: r.message });
      refuseUpgrade(socket, r.httpStatus, { code: r.code, message: r.message });
    };
    let grant: string;
    try {
      if (closing) throw new Refused("INTERNAL_ERROR", "The recogniser is shutting down.", 503);
      const url = new URL(req.url ?? "/", "http://localhost");
      grant = url.searchParams.get("grant") ?? "";
      if (!grant) throw new Refused("UNAUTHORIZED", "A recognition grant is required (ask getRecognizer).", 401);
      const rate = Number(url.searchParams.get("sample-rate") ?? TRANSCRIBE_SAMPLE_RATE);
      if (url.searchParams.get("media-encoding") !== "pcm" || rate !== TRANSCRIBE_SAMPLE_RATE) {
        throw new Refused("INVALID_PARAMETER", `Only media-encoding=pcm at sample-rate=${TRANSCRIBE_SAMPLE_RATE} is served here.`, 400);
      }
      const language = url.searchParams.get("language-code") ?? "";
      if (!options.languageCodes.includes(language)) {
        throw new Refused("UNSUPPORTED_LANGUAGE", `The local recogniser serves ${options.languageCodes.join(", ")} only.`, 400);
      }
    } catch (error) {
      fail(error);
      return;
    }
    verifier.verifyRecognitionGrant(grant).then(
      (claims) => {
        try {
          if (closing) throw new Refused("INTERNAL_ERROR", "The recogniser is shutting down.", 503);
          if (socket.destroyed) return;
          const replacing = bySession.get(claims.sessionId);
          if (!replacing && live.size >= options.maxStreams) {
            throw new Refused("RATE_LIMIT_EXCEEDED", `The server recognises ${options.maxStreams} streams at most; try again later.`, 503);
          }
          wss.handleUpgrade(req, socket, head, (ws) => {
            socket.removeListener("error", ignore);
            open(ws, claims.sessionId);
          });
        } catch (error) {
          fail(error);
        }
      },
      (error: unknown) => fail(new Refused("UNAUTHORIZED", error instanceof EarshotError ? error.message : "The recognition grant is invalid.", 401)),
    );
  }

  function open(ws: WebSocket, sessionId: string): void {
    const previous = bySession.get(sessionId);
    if (previous) stop(previous, 1000, "replaced by a newer stream");
    const stream: Stream = { ws, sessionId, utterances: 0 };
    bySession.set(sessionId, stream);
    live.add(stream);
    const send = (frame: Uint8Array) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame);
    };
    try {
      stream.recognizer = options.recognizer({
        onUtterance(u) {
          const id = `${sessionId}-${stream.utterances++}`;
          send(
            encodeTranscriptEvent({
              Transcript: {
                Results: [{ ResultId: id, StartTime: u.startMs / 1000, EndTime: u.endMs / 1000, IsPartial: false, Alternatives: [{ Transcript: u.text }], ChannelId: "ch_0" }],
              },
            }),
          );
        },
        onError(error) {
          logger.warn("recogniser failed", { sessionId, error });
          send(encodeException("InternalFailureException", "The recogniser stopped; reconnect to start a new stream."));
          stop(stream, 1011, "recogniser failed");
        },
      });
    } catch (error) {
      logger.error("could not start the recogniser", { sessionId, error });
      send(encodeException("ServiceUnavailableException", "The recogniser could not start."));
      stop(stream, 1011, "recogniser unavailable");
      return;
    }
    const touch = () => {
      clearTimeout(stream.idle);
      stream.idle = setTimeout(() => stop(stream, 1000, "no audio"), idleTimeoutMs);
    };
    touch();
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        send(encodeException("BadRequestException", "Frames must be binary event-stream messages."));
        stop(stream, 1003, "text frame");
        return;
      }
      let frame;
      try {
        frame = decodeTranscribeFrame(toBytes(data));
      } catch (error) {
        const message = error instanceof EventStreamError ? error.message : "malformed frame";
        send(encodeException("BadRequestException", `Could not decode the frame: ${message}.`));
        stop(stream, 1007, "bad frame");
        return;
      }
      if (frame.kind !== "audio") {
        send(encodeException("BadRequestException", "Only AudioEvent messages are accepted."));
        stop(stream, 1008, "unexpected event");
        return;
      }
      if (frame.pcm.length === 0) {
        // Transcribe's end of stream: the recogniser finishes what it heard, then the socket closes.
        stop(stream, 1000, "end of stream");
        return;
      }
      if (frame.pcm.length % 2 !== 0) {
        send(encodeException("BadRequestException", "Audio must be 16-bit PCM (an even number of bytes)."));
        stop(stream, 1007, "odd audio length");
        return;
      }
      touch();
      stream.recognizer?.write(Buffer.from(frame.pcm.buffer, frame.pcm.byteOffset, frame.pcm.byteLength));
    });
    ws.on("close", () => stop(stream));
    ws.on("error", (error) => logger.debug("transcribe socket error", { sessionId, error }));
  }

  function stop(stream: Stream, code?: number, reason?: string): void {
    if (!live.has(stream)) return;
    live.delete(stream);
    if (bySession.get(stream.sessionId) === stream) bySession.delete(stream.sessionId);
    clearTimeout(stream.idle);
    const recognizer = stream.recognizer;
    stream.recognizer = undefined;
    // Let the recogniser finish the last utterance before the socket closes (end of stream), within a bound.
    const done = recognizer ? Promise.race([recognizer.close(), new Promise((r) => setTimeout(r, 3000))]) : Promise.resolve();
    void done
      .catch((error: unknown) => logger.debug("recogniser close failed", { error }))
      .finally(() => {
        if (code !== undefined && stream.ws.readyState === WebSocket.OPEN) stream.ws.close(code, reason);
      });
  }

  return {
    handleUpgrade,
    async urlFor(publicUrl, sessionId, speakerId, languageCode) {
      const { token } = await signer.recognitionGrant({ sessionId, speakerId });
      const base = publicUrl.replace(/^http/, "ws").replace(/\/+$/, "");
      const query = new URLSearchParams({ "language-code": languageCode, "media-encoding": "pcm", "sample-rate": String(TRANSCRIBE_SAMPLE_RATE), grant: token });
      return `${base}${TRANSCRIBE_PATH}?${query.toString()}`;
    },
    streams: () => live.size,
    async close() {
      closing = true;
      const streams = [...live];
      await Promise.all(
        streams.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.ws.readyState === WebSocket.CLOSED) return resolve();
              s.ws.once("close", () => resolve());
              stop(s, 1012, "server restart");
              setTimeout(resolve, 4000).unref();
            }),
        ),
      );
      for (const s of streams) if (s.ws.readyState !== WebSocket.CLOSED) s.ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function toBytes(data: RawData): Uint8Array {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return new Uint8Array(data);
}

