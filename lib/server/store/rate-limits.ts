import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { EarshotError } from "../../core/errors";
import type { Clock } from "./table";

/**
 * Rate limits: fixed windows counted by atomic ADD, in the rate-limits table
 * (cloud) or in memory (embedded), and the guard against session-code guessing.
 */

export interface RateDecision {
  allowed: boolean;
  count: number;
  retryAfter: number;
}

/**
 * Rate-limit counters. The cloud counts in the rate-limits table (shared by
 * every Lambda and web instance); the embedded runtime, a single process,
 * counts in memory and spares the store two writes per connection.
 */
export interface RateCounters {
  /** Adds `by` (default one; negative gives back) to a bucket (kept until `expiresAtS`) and returns its new count. */
  add(bucket: string, expiresAtS: number, by?: number): Promise<number>;
  get(bucket: string): Promise<number>;
}

export class TableCounters implements RateCounters {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async add(bucket: string, expiresAtS: number, by = 1): Promise<number> {
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { bucket },
        UpdateExpression: "ADD hits :one SET #ttl = :ttl",
        ExpressionAttributeNames: { "#ttl": "ttl" },
        ExpressionAttributeValues: { ":one": by, ":ttl": expiresAtS },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return Number(out.Attributes?.hits ?? 1);
  }

  async get(bucket: string): Promise<number> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: { bucket }, ConsistentRead: true }));
    return Number(out.Item?.hits ?? 0);
  }
}

export class MemoryCounters implements RateCounters {
  private readonly buckets = new Map<string, { hits: number; expiresAtS: number }>();
  private adds = 0;

  constructor(private readonly nowS: () => number = () => Math.floor(Date.now() / 1000)) {}

  async add(bucket: string, expiresAtS: number, by = 1): Promise<number> {
    if (++this.adds % 1000 === 0) this.prune();
    const entry = this.buckets.get(bucket);
    if (entry && entry.expiresAtS > this.nowS()) return (entry.hits += by);
    this.buckets.set(bucket, { hits: by, expiresAtS });
    return by;
  }

  async get(bucket: string): Promise<number> {
    const entry = this.buckets.get(bucket);
    return entry && entry.expiresAtS > this.nowS() ? entry.hits : 0;
  }

  private prune(): void {
    const now = this.nowS();
    for (const [k, v] of this.buckets) if (v.expiresAtS <= now) this.buckets.delete(k);
  }
}

const MEMORY_COUNTERS = Symbol.for("earshot.rateCounters");

/** One set of in-memory counters per process, shared by the gateway and Next's route handlers. */
export function processRateCounters(): MemoryCounters {
  const g = globalThis as typeof globalThis & { [MEMORY_COUNTERS]?: MemoryCounters };
  g[MEMORY_COUNTERS] ??= new MemoryCounters();
  return g[MEMORY_COUNTERS];
}

/** guardedLookup: a lookup queued behind lookups in flight tries again this often, this far apart (± half): up to ~4 s. */
const GUARD_WAITS = 80;
const GUARD_WAIT_MS = 50;

export class RateLimits {
  constructor(
    private readonly counters: RateCounters,
    private readonly now: Clock,
  ) {}

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    const nowS = this.nowSeconds();
    const window = Math.floor(nowS / windowSeconds);
    const windowEnd = (window + 1) * windowSeconds;
    const count = await this.counters.add(`${key}#${windowSeconds}#${window}`, windowEnd + 60);
    return { allowed: count <= limit, count, retryAfter: Math.max(1, windowEnd - nowS) };
  }

  /** Reads a window's count without adding to it. */
  async peek(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    const nowS = this.nowSeconds();
    const window = Math.floor(nowS / windowSeconds);
    const count = await this.counters.get(`${key}#${windowSeconds}#${window}`);
    return { allowed: count < limit, count, retryAfter: Math.max(1, (window + 1) * windowSeconds - nowS) };
  }

  /**
   * Guards a session lookup against code guessing: a client that has spent its
   * budget of failed lookups is refused every lookup (a right guess included)
   * until the window ends. `lookup` returns undefined for a miss.
   *
   * The budget is reserved before the lookup (an atomic add) and given back
   * when the lookup finds the session, so a burst of parallel guesses gets at
   * most `failedPerMinute` answers. A reservation past the budget is refused at
   * once when answered misses alone have spent it; when it is lookups still in
   * flight that hold it (a crowd opening one link at once), the lookup waits
   * for them (briefly, a bounded number of times) instead of being refused.
   */
  async guardedLookup<T>(clientIp: string, failedPerMinute: number, lookup: () => Promise<T | undefined>): Promise<T | undefined> {
    const held = `lookup-miss:${clientIp}`; // misses answered + lookups in flight
    const spent = `lookup-missed:${clientIp}`; // misses answered
    for (let attempt = 0; ; attempt++) {
      const reserved = await this.reserve(held, 60);
      if (reserved.count > failedPerMinute) {
        await reserved.giveBack();
        const answered = await this.peek(spent, failedPerMinute, 60);
        if (!answered.allowed || attempt >= GUARD_WAITS) throw EarshotError.rateLimited(reserved.retryAfter, "lookups of unknown sessions");
        await new Promise((r) => setTimeout(r, GUARD_WAIT_MS * (0.5 + Math.random())));
        continue;
      }
      let found: T | undefined;
      try {
        found = await lookup();
      } catch (error) {
        await reserved.giveBack();
        throw error;
      }
      if (found !== undefined) await reserved.giveBack();
      else await this.hit(spent, failedPerMinute, 60);
      return found;
    }
  }

  /** Adds one to this window's bucket of `key`; `giveBack` takes it back from the same bucket. */
  private async reserve(key: string, windowSeconds: number): Promise<{ count: number; retryAfter: number; giveBack: () => Promise<void> }> {
    const nowS = this.nowSeconds();
    const window = Math.floor(nowS / windowSeconds);
    const windowEnd = (window + 1) * windowSeconds;
    const bucket = `${key}#${windowSeconds}#${window}`;
    const count = await this.counters.add(bucket, windowEnd + 60);
    return { count, retryAfter: Math.max(1, windowEnd - nowS), giveBack: async () => void (await this.counters.add(bucket, windowEnd + 60, -1)) };
  }

  /** Throws RATE_LIMIT_EXCEEDED (with Retry-After seconds) when over the limit. */
  async enforce(key: string, limit: number, windowSeconds: number, what: string): Promise<void> {
    const decision = await this.hit(key, limit, windowSeconds);
    if (!decision.allowed) throw EarshotError.rateLimited(decision.retryAfter, what);
  }
}
