import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/**
 * Password hashes for embedded speaker accounts: scrypt from node:crypto with
 * a random salt, stored as `scrypt$N$r$p$salt$hash` (salt and hash base64url),
 * so the cost can rise later without breaking stored hashes.
 */

export const SCRYPT_DEFAULTS = { N: 2 ** 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Refuse encoded parameters that would make verification a denial of service. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

function derive(password: string, salt: Buffer, keyLength: number, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFKC"), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Hashes a password with a fresh random salt. */
export async function hashPassword(password: string, params: ScryptParams = SCRYPT_DEFAULTS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, params);
  return ["scrypt", params.N, params.r, params.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

interface Decoded extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

function decode(encoded: string): Decoded | undefined {
  const parts = encoded.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const int = (s: string) => (/^\d{1,8}$/.test(s) ? Number(s) : NaN);
  const params = { N: int(n), r: int(r), p: int(p) };
  const powerOfTwo = params.N > 1 && (params.N & (params.N - 1)) === 0;
  if (!powerOfTwo || params.N > MAX_N || !(params.r >= 1 && params.r <= MAX_R) || !(params.p >= 1 && params.p <= MAX_P)) {
    return undefined;
  }
  const b64 = /^[A-Za-z0-9_-]+$/;
  if (!b64.test(salt) || !b64.test(hash)) return undefined;
  const decoded = { ...params, salt: Buffer.from(salt, "base64url"), hash: Buffer.from(hash, "base64url") };
  return decoded.salt.length >= 8 && decoded.hash.length >= 16 ? decoded : undefined;
}

/** Whether `encoded` is a hash this module can verify. */
export function isPasswordHash(encoded: string): boolean {
  return decode(encoded) !== undefined;
}

/** Timing-safe check of a password against an encoded hash. A malformed hash never matches. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const decoded = decode(encoded);
  if (!decoded) return false;
  const key = await derive(password, decoded.salt, decoded.hash.length, decoded);
  return key.length === decoded.hash.length && timingSafeEqual(key, decoded.hash);
}

let dummy: Promise<string> | undefined;

/**
 * Spends the same work as a real verification, for sign-ins of unknown
 * accounts, so response times do not tell which emails exist.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummy ??= hashPassword("earshot-dummy-password");
  await verifyPassword(password, await dummy);
  return false;
}

/**
 * Bounds how much scrypt work runs at once. Each verification takes ~32 MB
 * and tens of milliseconds on a thread of libuv's pool, which the store
 * (LevelDB) and file I/O share: a burst of sign-ins from many addresses must
 * not stall everything else. Past `maxQueued` waiting, a check is refused at
 * once (the caller answers "too many attempts, try again"): load shedding,
 * for moments, never a lock-out.
 */
export class WorkLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** The most that ran at once (tests, benchmarks). */
  peak = 0;

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueued: number,
  ) {}

  /** Runs `work` when a slot is free; undefined (nothing run) when the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.running >= this.maxConcurrent) {
      if (this.waiting.length >= this.maxQueued) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    this.peak = Math.max(this.peak, this.running);
    try {
      return { value: await work() };
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next in line
      else this.running--;
    }
  }
}

/** Password checks of this process: two at once (of libuv's four threads), 32 waiting. */
export const passwordChecks = new WorkLimit(2, 32);
