import { SigV4RequestSigner } from "amazon-kinesis-video-streams-webrtc";
import type { RecognizerMessage } from "../../core/protocol";
import { decodeTranscribeFrame, encodeAudioEvent, EventStreamError, type TranscribeResult } from "../../core/transcribe-protocol";
import { ClientError } from "../errors";
import { speakerCredentials, withChannel } from "../rtc/kvs-cloud";
import type { OpenTranscribe, TranscribeConnection, TranscribeHandlers } from "./recognition";

/**
 * The browser side of Amazon Transcribe's streaming WebSocket protocol
 * (lib/core/transcribe-protocol.ts): PCM chunks out as AudioEvents,
 * TranscriptEvents in as recogniser results. One client for both ends the
 * control plane may name in `getRecognizer`: the embedded runtime's
 * /transcribe endpoint (a grant in the URL) and Amazon Transcribe (a URL
 * presigned here with the speaker's session-scoped credentials from the app).
 */

/** The part of the WebSocket API the stream uses (the browser's, or `ws` in Node benchmarks and tests). */
export interface BinarySocket {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => BinarySocket;

const OPEN = 1;
/** How long end() waits for the last results before closing. */
const END_GRACE_MS = 4000;
const OPEN_TIMEOUT_MS = 10_000;

/** The recogniser's stream failed (a ClientError of kind `recognizer`; its code is `type`). */
export class TranscribeStreamError extends ClientError {
  constructor(
    message: string,
    /** Transcribe's exception type (BadRequestException, LimitExceededException...), or "Network". */
    readonly type: string,
  ) {
    super("recognizer", type, message);
    this.name = "TranscribeStreamError";
  }
}

/** Opens a stream to a ready URL (local grant URL, or a presigned Transcribe URL). */
export function openTranscribeStream(url: string, handlers: TranscribeHandlers, socketFactory: SocketFactory = browserSocket): Promise<TranscribeConnection> {
  return new Promise((resolve, reject) => {
    let socket: BinarySocket;
    try {
      socket = socketFactory(url);
    } catch (e) {
      reject(new TranscribeStreamError(e instanceof Error ? e.message : String(e), "Network"));
      return;
    }
    socket.binaryType = "arraybuffer";
    let opened = false;
    let finished = false;
    let failure: TranscribeStreamError | undefined;
    let endTimer: ReturnType<typeof setTimeout> | undefined;
    let onEnded: (() => void) | undefined;
    const openTimer = setTimeout(() => {
      if (opened) return;
      finished = true;
      socket.close();
      reject(new TranscribeStreamError("The recogniser did not answer in time.", "Network"));
    }, OPEN_TIMEOUT_MS);

    const finish = (error?: TranscribeStreamError) => {
      if (finished) return;
      finished = true;
      clearTimeout(endTimer);
      onEnded?.();
      handlers.onClose(error);
    };

    socket.onopen = () => {
      opened = true;
      clearTimeout(openTimer);
      const connection: TranscribeConnection = {
        send(pcm: Int16Array) {
          if (finished || socket.readyState !== OPEN) return;
          socket.send(encodeAudioEvent(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength)));
        },
        end() {
          return new Promise<void>((done) => {
            if (finished || socket.readyState !== OPEN) {
              finished = true;
              done();
              return;
            }
            onEnded = done;
            // The protocol's end of stream: an empty AudioEvent; the service answers what is left, then closes.
            socket.send(encodeAudioEvent(new Uint8Array(0)));
            endTimer = setTimeout(() => {
              socket.close(1000, "end of stream");
              finish();
            }, END_GRACE_MS);
          });
        },
        close() {
          if (finished) return;
          finished = true;
          clearTimeout(endTimer);
          socket.close(1000, "closed by the speaker");
        },
      };
      resolve(connection);
    };
    socket.onmessage = (event) => {
      const bytes = toBytes(event.data);
      if (!bytes) return;
      let frame;
      try {
        frame = decodeTranscribeFrame(bytes);
      } catch (e) {
        failure = new TranscribeStreamError(`Undecodable message from the recogniser: ${e instanceof EventStreamError ? e.message : String(e)}`, "BadResponse");
        socket.close(1002, "bad frame");
        return;
      }
      if (frame.kind === "results") {
        for (const result of frame.results) if (result.text.trim()) handlers.onResult(result satisfies TranscribeResult);
      } else if (frame.kind === "exception") {
        failure = new TranscribeStreamError(frame.message || frame.type, frame.type);
      }
    };
    socket.onerror = () => {
      failure ??= new TranscribeStreamError("The connection to the recogniser failed.", "Network");
    };
    socket.onclose = (event) => {
      clearTimeout(openTimer);
      if (!opened) {
        finished = true;
        reject(failure ?? new TranscribeStreamError(`The recogniser refused the stream (${event.code}${event.reason ? `: ${event.reason}` : ""}).`, "Network"));
        return;
      }
      const clean = event.code === 1000 && !failure;
      finish(clean && onEnded ? undefined : (failure ?? new TranscribeStreamError(`The recogniser closed the stream (${event.code}${event.reason ? `: ${event.reason}` : ""}).`, "Network")));
    };
  });
}

/** Amazon Transcribe's streaming endpoint for a region. */
export function transcribeEndpoint(region: string): string {
  return `wss://transcribestreaming.${region}.amazonaws.com:8443/stream-transcription-websocket`;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A SigV4-presigned Transcribe streaming URL (service `transcribe`, valid about 5 minutes). */
export function presignTranscribeUrl(options: { region: string; languageCode: string; sampleRate: number; credentials: AwsCredentials; date?: Date }): Promise<string> {
  const signer = new SigV4RequestSigner(options.region, options.credentials, "transcribe");
  return signer.getSignedURL(
    transcribeEndpoint(options.region),
    { "language-code": options.languageCode, "media-encoding": "pcm", "sample-rate": String(options.sampleRate) },
    options.date,
  );
}

/**
 * SpeakerRecognition's port: opens the stream the control plane named.
 * `local`: the URL as given; `aws`: presigned with the speaker's credentials,
 * asked for as the MASTER asks (/api/speaker/kvs-credentials with a channel
 * of the session: the master role's, scoped by the app to this session).
 */
export const openTranscribe: OpenTranscribe = (recognizer: RecognizerMessage, handlers: TranscribeHandlers) =>
  openTranscribeWith(recognizer, handlers);

/** openTranscribe with its fetch and socket factory given (tests). */
export async function openTranscribeWith(
  recognizer: RecognizerMessage,
  handlers: TranscribeHandlers,
  fetchImpl: typeof fetch = fetch,
  socketFactory: SocketFactory = browserSocket,
  credentialsUrl = "/api/speaker/kvs-credentials",
): Promise<TranscribeConnection> {
  if (recognizer.engine === "local" && recognizer.url) return openTranscribeStream(recognizer.url, handlers, socketFactory);
  if (recognizer.engine === "aws" && recognizer.region) {
    if (!recognizer.channelName) throw new TranscribeStreamError("The server named no channel of the session to ask for credentials with.", "Unavailable");
    const credentials = await speakerCredentials(withChannel(credentialsUrl, recognizer.channelName), fetchImpl)();
    const url = await presignTranscribeUrl({ region: recognizer.region, languageCode: recognizer.languageCode, sampleRate: recognizer.sampleRate, credentials });
    return openTranscribeStream(url, handlers, socketFactory);
  }
  throw new TranscribeStreamError("The server has no recogniser for this session.", "Unavailable");
};

function browserSocket(url: string): BinarySocket {
  return new WebSocket(url) as unknown as BinarySocket;
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
