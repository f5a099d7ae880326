import type { RawData } from "ws";

/** A received ws message (a Buffer, fragments, or an ArrayBuffer) as UTF-8 text. */
export function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}
