import type { LanguageCode } from "../../core/languages";
import { languageDistribution, shardViewersAttribute, type ConnectionItem, type SessionItem } from "../../core/schema";
import type { ControlContext } from "./context";
import { disconnect } from "./lifecycle";

/**
 * The sweeper: removes connection rows whose socket is gone, tells and
 * closes connections of sessions that expired, closes listener sockets that
 * never joined, and corrects counts that drifted from the rows.
 */

export interface SweepOptions {
  /** Rows younger than this may still be inside `$connect` and are left alone (default 60 s). */
  graceMs?: number;
  /** Counts are corrected only in sessions whose counts and rows stood still this long (default 30 s). */
  quietMs?: number;
  /** ...and that show the same drift twice this far apart (default 2 s). */
  settleMs?: number;
}

export interface SweepReport {
  scanned: number;
  removed: number;
  expired: number;
  /** Sessions whose stored counts disagreed with their connections and were corrected. */
  corrected: number;
  /** Live listener sockets closed because they never joined within the grace period. */
  unjoined: number;
}

/** Per-language and per-shard counts implied by a session's connection rows. */
export function countsFromConnections(rows: ConnectionItem[]): { languages: Partial<Record<LanguageCode, number>>; shards: Record<number, number>; total: number } {
  const languages: Partial<Record<LanguageCode, number>> = {};
  const shards: Record<number, number> = {};
  let total = 0;
  for (const r of rows) {
    if (r.role !== "listener") continue;
    if (r.joinedLanguage) {
      languages[r.joinedLanguage] = (languages[r.joinedLanguage] ?? 0) + 1;
      total++;
    }
    if (r.channelIndex !== undefined) shards[r.channelIndex] = (shards[r.channelIndex] ?? 0) + 1;
  }
  return { languages, shards, total };
}

/** What a session's counts should move by to match its connection rows, as seen now. */
async function observeDrift(ctx: ControlContext, sessionId: string) {
  const current = await ctx.store.getSession(sessionId, true);
  if (!current) return undefined;
  const rows = await ctx.store.listSessionConnections(sessionId);
  const truth = countsFromConnections(rows);
  const languages: Partial<Record<LanguageCode, number>> = {};
  for (const [lang, n] of Object.entries(languageDistribution(current)) as [LanguageCode, number][]) languages[lang] = -n;
  for (const [lang, n] of Object.entries(truth.languages) as [LanguageCode, number][]) languages[lang] = (languages[lang] ?? 0) + n;
  // languageDistribution keeps positive counts only: a negative one is repaired through the total.
  const total = truth.total - current.listenerCount;
  const shards: Record<number, number> = {};
  for (let k = 0; k < current.channelCount; k++) {
    const stored = current[shardViewersAttribute(k)];
    const d = (truth.shards[k] ?? 0) - (typeof stored === "number" ? stored : 0);
    if (d !== 0) shards[k] = d;
  }
  for (const [lang, d] of Object.entries(languages)) if (d === 0) delete languages[lang as LanguageCode];
  const lastChange = Math.max(current.countsAt ?? 0, ...rows.map((r) => r.changedAt ?? 0));
  const key = JSON.stringify([total, languages, shards, current.countsAt ?? 0]);
  return { languages, shards, total, countsAt: current.countsAt ?? 0, lastChange, key, drift: total !== 0 || Object.keys(languages).length > 0 || Object.keys(shards).length > 0 };
}

/**
 * Corrects counts that drifted from the connection rows (a crash between
 * marking a row and adding to the count, a failed count write). Joins and
 * leaves in flight look like drift for a moment, so only a session whose
 * counts and rows stood still for `quietMs`, and that shows the same drift
 * twice `settleMs` apart, is corrected, by a write conditional on the
 * counts not having moved since.
 */
async function reconcile(ctx: ControlContext, sessionId: string, quietMs: number, settleMs: number): Promise<boolean> {
  const first = await observeDrift(ctx, sessionId);
  if (!first?.drift || Date.now() - first.lastChange < quietMs) return false;
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  const second = await observeDrift(ctx, sessionId);
  if (!second || second.key !== first.key) return false;
  // Undefined when the counts moved meanwhile (or the session is gone): the next sweep looks again.
  const after = await ctx.store.adjustCounts(sessionId, second.languages, second.shards, { total: second.total, expectCountsAt: second.countsAt });
  if (!after) return false;
  ctx.notifier.countsChanged(sessionId);
  ctx.logger.info("counts reconciled", { sessionId, listeners: after.listenerCount });
  return true;
}

/**
 * Removes connection rows whose socket is gone and un-counts them; tells
 * and closes connections of sessions that expired; then recomputes every
 * open session's counts from the rows that remain. Returns what it did.
 */
export async function sweep(
  ctx: ControlContext,
  isAlive: (c: ConnectionItem) => Promise<boolean> | boolean,
  options: SweepOptions = {},
): Promise<SweepReport> {
  const { store, connections, logger } = ctx;
  const report: SweepReport = { scanned: 0, removed: 0, expired: 0, corrected: 0, unjoined: 0 };
  const graceMs = options.graceMs ?? 60_000;
  const quietMs = options.quietMs ?? 30_000;
  const settleMs = options.settleMs ?? 2_000;
  const sessions = new Map<string, SessionItem | undefined>();
  for await (const c of store.scanConnections()) {
    report.scanned++;
    try {
      if (c.sessionId && !sessions.has(c.sessionId)) sessions.set(c.sessionId, await store.getSession(c.sessionId, true));
      const session = c.sessionId ? sessions.get(c.sessionId) : undefined;
      if (c.sessionId && (!session || session.status === "ended") && (await isAlive(c))) {
        // The session expired (or ended while this socket missed it): say so and close.
        await connections.post(c.connectionId, { type: "sessionEnded", sessionId: c.sessionId, reason: session ? "ended" : "expired" });
        await connections.close(c.connectionId, 1000, "session ended");
        await disconnect(ctx, c.connectionId);
        report.expired++;
        continue;
      }
      if (Date.now() - c.connectedAt < graceMs) continue; // may still be in the middle of $connect
      if (!(await isAlive(c))) {
        await disconnect(ctx, c.connectionId);
        report.removed++;
      } else if (c.role === "listener" && c.changedAt === undefined) {
        // A listener socket that never joined (a join follows the connect at once in every page): someone holding sockets.
        await connections.close(c.connectionId, 1008, "join the session after connecting");
        await disconnect(ctx, c.connectionId);
        report.unjoined++;
      }
    } catch (error) {
      logger.warn("sweep of a connection failed", { connectionId: c.connectionId, error });
    }
  }
  for await (const session of store.scanOpenSessions()) {
    try {
      if (await reconcile(ctx, session.sessionId, quietMs, settleMs)) report.corrected++;
    } catch (error) {
      logger.warn("reconcile failed", { sessionId: session.sessionId, error });
    }
  }
  return report;
}
