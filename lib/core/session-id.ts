import { ADJECTIVES, NOUNS } from "./words";

/**
 * Session ids: `adjective-noun-NNN`, e.g. `quiet-harbor-042`. Drawn with a
 * CSPRNG from curated family-friendly lists; the store writes them with a
 * conditional put and the caller retries on a collision.
 */
export const SESSION_ID_PATTERN = /^[a-z]{3,8}-[a-z]{3,8}-\d{3}$/;

/** Bits of entropy in one id: log2(adjectives * nouns * 1000). */
export const SESSION_ID_ENTROPY_BITS = Math.log2(ADJECTIVES.length * NOUNS.length * 1000);

/** Uniform integer in [0, n) from the platform CSPRNG, without modulo bias. */
function randomBelow(n: number): number {
  const limit = Math.floor(0x1_0000_0000 / n) * n;
  const buf = new Uint32Array(1);
  for (;;) {
    globalThis.crypto.getRandomValues(buf);
    const v = buf[0]!;
    if (v < limit) return v % n;
  }
}

export function generateSessionId(): string {
  const adjective = ADJECTIVES[randomBelow(ADJECTIVES.length)]!;
  const noun = NOUNS[randomBelow(NOUNS.length)]!;
  const digits = String(randomBelow(1000)).padStart(3, "0");
  return `${adjective}-${noun}-${digits}`;
}

/** Format check only (cheap, before any lookup). Accepts surrounding spaces and capitals from people typing. */
export function normalizeSessionId(input: string): string | undefined {
  const id = input.trim().toLowerCase().replace(/\s+/g, "-");
  return SESSION_ID_PATTERN.test(id) ? id : undefined;
}

export function isValidSessionId(value: unknown): value is string {
  return typeof value === "string" && SESSION_ID_PATTERN.test(value);
}
