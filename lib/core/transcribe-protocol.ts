/**
 * Amazon Transcribe's streaming WebSocket protocol, the part Earshot speaks:
 * binary frames in the AWS event-stream encoding, AudioEvents (raw PCM) from
 * the client, TranscriptEvents (JSON) and exceptions from the service. The
 * speaker's browser uses it against Amazon Transcribe (cloud) and against the
 * embedded runtime's /transcribe endpoint (local, backed by pocketsphinx), so
 * both ends share this codec. Runtime-free: Uint8Array, DataView, TextEncoder.
 *
 * Frame: total length (u32) | headers length (u32) | prelude CRC32 |
 * headers | payload | message CRC32. A header: name length (u8) | name |
 * type (u8) | value; Transcribe uses string headers (type 7: u16 length | utf-8).
 */

export type HeaderValue = string | boolean | number | Uint8Array;

export interface EventStreamMessage {
  headers: Record<string, HeaderValue>;
  payload: Uint8Array;
}

export class EventStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EventStreamError";
  }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3), as the event-stream encoding uses. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Frames larger than this are refused (Transcribe's own limit is far lower for audio). */
export const MAX_EVENT_BYTES = 256 * 1024;

export function encodeMessage(message: EventStreamMessage): Uint8Array {
  const headerParts: Uint8Array[] = [];
  for (const [name, value] of Object.entries(message.headers)) {
    const nameBytes = encoder.encode(name);
    if (nameBytes.length > 255) throw new EventStreamError(`header name too long: ${name}`);
    if (typeof value !== "string") throw new EventStreamError(`only string headers are encoded (${name})`);
    const valueBytes = encoder.encode(value);
    const part = new Uint8Array(1 + nameBytes.length + 1 + 2 + valueBytes.length);
    part[0] = nameBytes.length;
    part.set(nameBytes, 1);
    part[1 + nameBytes.length] = 7;
    new DataView(part.buffer).setUint16(2 + nameBytes.length, valueBytes.length);
    part.set(valueBytes, 4 + nameBytes.length);
    headerParts.push(part);
  }
  const headersLength = headerParts.reduce((n, p) => n + p.length, 0);
  const total = 12 + headersLength + message.payload.length + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, total);
  view.setUint32(4, headersLength);
  view.setUint32(8, crc32(out, 0, 8));
  let offset = 12;
  for (const part of headerParts) {
    out.set(part, offset);
    offset += part.length;
  }
  out.set(message.payload, offset);
  view.setUint32(total - 4, crc32(out, 0, total - 4));
  return out;
}

/** Decodes one whole frame. Throws EventStreamError on any inconsistency (lengths, CRCs, header types). */
export function decodeMessage(frame: Uint8Array): EventStreamMessage {
  if (frame.length < 16) throw new EventStreamError("frame shorter than its prelude");
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const total = view.getUint32(0);
  const headersLength = view.getUint32(4);
  if (total !== frame.length) throw new EventStreamError(`frame length ${frame.length} does not match its prelude (${total})`);
  if (total > MAX_EVENT_BYTES) throw new EventStreamError("frame too large");
  if (view.getUint32(8) !== crc32(frame, 0, 8)) throw new EventStreamError("prelude CRC mismatch");
  if (view.getUint32(total - 4) !== crc32(frame, 0, total - 4)) throw new EventStreamError("message CRC mismatch");
  if (12 + headersLength > total - 4) throw new EventStreamError("headers overrun the frame");
  const headers: Record<string, HeaderValue> = Object.create(null) as Record<string, HeaderValue>;
  let offset = 12;
  const end = 12 + headersLength;
  const need = (n: number) => {
    if (offset + n > end) throw new EventStreamError("truncated header");
  };
  while (offset < end) {
    need(1);
    const nameLength = frame[offset]!;
    offset += 1;
    need(nameLength + 1);
    const name = decoder.decode(frame.subarray(offset, offset + nameLength));
    offset += nameLength;
    const type = frame[offset]!;
    offset += 1;
    let value: HeaderValue;
    switch (type) {
      case 0:
        value = true;
        break;
      case 1:
        value = false;
        break;
      case 2:
        need(1);
        value = view.getInt8(offset);
        offset += 1;
        break;
      case 3:
        need(2);
        value = view.getInt16(offset);
        offset += 2;
        break;
      case 4:
        need(4);
        value = view.getInt32(offset);
        offset += 4;
        break;
      case 5:
      case 8:
        need(8);
        value = Number(view.getBigInt64(offset));
        offset += 8;
        break;
      case 6:
      case 7: {
        need(2);
        const length = view.getUint16(offset);
        offset += 2;
        need(length);
        const bytes = frame.slice(offset, offset + length);
        value = type === 7 ? decoder.decode(bytes) : bytes;
        offset += length;
        break;
      }
      case 9:
        need(16);
        value = frame.slice(offset, offset + 16);
        offset += 16;
        break;
      default:
        throw new EventStreamError(`unknown header type ${type}`);
    }
    headers[name] = value;
  }
  return { headers, payload: frame.slice(end, total - 4) };
}

// ---------------------------------------------------------------------------
// Transcribe's events

/** One chunk of 16-bit little-endian PCM. An empty chunk ends the stream. */
export function encodeAudioEvent(pcm: Uint8Array): Uint8Array {
  return encodeMessage({
    headers: { ":content-type": "application/octet-stream", ":event-type": "AudioEvent", ":message-type": "event" },
    payload: pcm,
  });
}

/** Transcribe's TranscriptEvent JSON (the fields Earshot reads). */
export interface TranscriptEventBody {
  Transcript: {
    Results: {
      ResultId: string;
      StartTime: number;
      EndTime: number;
      IsPartial: boolean;
      Alternatives: { Transcript: string }[];
      ChannelId?: string;
    }[];
  };
}

export function encodeTranscriptEvent(body: TranscriptEventBody): Uint8Array {
  return encodeMessage({
    headers: { ":content-type": "application/json", ":event-type": "TranscriptEvent", ":message-type": "event" },
    payload: encoder.encode(JSON.stringify(body)),
  });
}

/** An exception as Transcribe sends it before closing (BadRequestException, LimitExceededException, ...). */
export function encodeException(type: string, message: string): Uint8Array {
  return encodeMessage({
    headers: { ":content-type": "application/json", ":exception-type": type, ":message-type": "exception" },
    payload: encoder.encode(JSON.stringify({ Message: message })),
  });
}

/** A recogniser result in Earshot's terms (lib/core/segmenter.ts RecognizerResult). */
export interface TranscribeResult {
  resultId: string;
  text: string;
  startMs: number;
  endMs: number;
  partial: boolean;
}

export type TranscribeIncoming =
  | { kind: "audio"; pcm: Uint8Array }
  | { kind: "results"; results: TranscribeResult[] }
  | { kind: "exception"; type: string; message: string }
  | { kind: "other"; eventType: string };

/** Decodes a frame from either side into what it means. Throws EventStreamError on a malformed frame. */
export function decodeTranscribeFrame(frame: Uint8Array): TranscribeIncoming {
  const { headers, payload } = decodeMessage(frame);
  const messageType = headers[":message-type"];
  if (messageType === "exception" || messageType === "error") {
    const type = String(headers[":exception-type"] ?? headers[":error-code"] ?? "Exception");
    let message = String(headers[":error-message"] ?? "");
    try {
      const body = JSON.parse(decoder.decode(payload)) as { Message?: string; message?: string };
      message = body.Message ?? body.message ?? message;
    } catch {
      // not JSON: keep the header's message
    }
    return { kind: "exception", type, message };
  }
  const eventType = String(headers[":event-type"] ?? "");
  if (eventType === "AudioEvent") return { kind: "audio", pcm: payload };
  if (eventType === "TranscriptEvent") {
    let body: TranscriptEventBody;
    try {
      body = JSON.parse(decoder.decode(payload)) as TranscriptEventBody;
    } catch {
      throw new EventStreamError("TranscriptEvent payload is not JSON");
    }
    const results = (body.Transcript?.Results ?? []).map((r) => ({
      resultId: String(r.ResultId),
      text: String(r.Alternatives?.[0]?.Transcript ?? ""),
      startMs: Math.round(Number(r.StartTime) * 1000),
      endMs: Math.round(Number(r.EndTime) * 1000),
      partial: Boolean(r.IsPartial),
    }));
    return { kind: "results", results };
  }
  return { kind: "other", eventType };
}

/** Transcribe's language codes for Earshot's languages (streaming). */
export const TRANSCRIBE_LANGUAGE_CODES: Readonly<Record<string, string>> = {
  ar: "ar-SA",
  ca: "ca-ES",
  de: "de-DE",
  en: "en-US",
  es: "es-US",
  fr: "fr-FR",
  hi: "hi-IN",
  it: "it-IT",
  ja: "ja-JP",
  ko: "ko-KR",
  nl: "nl-NL",
  pl: "pl-PL",
  pt: "pt-BR",
  ru: "ru-RU",
  sv: "sv-SE",
  tr: "tr-TR",
  uk: "uk-UA",
  zh: "zh-CN",
};

/** The recogniser's audio format: what the browser captures and both endpoints expect. */
export const TRANSCRIBE_SAMPLE_RATE = 16_000;
