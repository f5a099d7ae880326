import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { SegmentItem, SpeakerItem } from "../../core/schema";
import { ConnectionRows } from "./connections";
import { RateLimits, TableCounters, type RateCounters } from "./rate-limits";
import { SegmentRows } from "./segments";
import { SessionRows } from "./sessions";
import { SpeakerRows } from "./speakers";
import { storeTables, type Clock, type StoreTables, type TableAccess } from "./table";

/**
 * The data layer's one surface: every read and write of sessions,
 * connections, transcript segments, rate limits and (embedded) speaker
 * accounts goes through a Store. Each job lives in its own module
 * (sessions.ts, connections.ts, segments.ts, rate-limits.ts, speakers.ts);
 * this class builds them over one set of clients and passes calls on.
 * Counts move by atomic ADD, state changes are conditional writes, and
 * nothing reads a value to write it back.
 */

export type { Clock } from "./table";
export type { NewSession, CountDeltas } from "./sessions";
export { MemoryCounters, processRateCounters, type RateCounters, type RateDecision } from "./rate-limits";

export class Store {
  readonly tables: StoreTables;
  private readonly sessions: SessionRows;
  private readonly connections: ConnectionRows;
  private readonly segments: SegmentRows;
  private readonly speakers: SpeakerRows;
  private readonly rateLimits: RateLimits;

  constructor(
    readonly doc: DynamoDBDocumentClient,
    prefix: string,
    options: { now?: Clock; counters?: RateCounters; noRetryDoc?: DynamoDBDocumentClient } = {},
  ) {
    const access: TableAccess = { doc, once: options.noRetryDoc ?? doc, tables: storeTables(prefix), now: options.now ?? Date.now };
    this.tables = access.tables;
    this.sessions = new SessionRows(access);
    this.connections = new ConnectionRows(access);
    this.segments = new SegmentRows(access);
    this.speakers = new SpeakerRows(access);
    this.rateLimits = new RateLimits(options.counters ?? new TableCounters(access.once, access.tables.rateLimits), access.now);
  }

  // Sessions (sessions.ts)
  createSession(...a: Parameters<SessionRows["createSession"]>) { return this.sessions.createSession(...a); }
  getSession(...a: Parameters<SessionRows["getSession"]>) { return this.sessions.getSession(...a); }
  updateBroadcast(...a: Parameters<SessionRows["updateBroadcast"]>) { return this.sessions.updateBroadcast(...a); }
  endSession(...a: Parameters<SessionRows["endSession"]>) { return this.sessions.endSession(...a); }
  setSpeakerConnection(...a: Parameters<SessionRows["setSpeakerConnection"]>) { return this.sessions.setSpeakerConnection(...a); }
  adjustCounts(...a: Parameters<SessionRows["adjustCounts"]>) { return this.sessions.adjustCounts(...a); }
  claimShardSlot(...a: Parameters<SessionRows["claimShardSlot"]>) { return this.sessions.claimShardSlot(...a); }
  openShard(...a: Parameters<SessionRows["openShard"]>) { return this.sessions.openShard(...a); }
  claimSeq(...a: Parameters<SessionRows["claimSeq"]>) { return this.sessions.claimSeq(...a); }
  scanOpenSessions() { return this.sessions.scanOpenSessions(); }

  // Connections and resume keys (connections.ts)
  putConnection(...a: Parameters<ConnectionRows["putConnection"]>) { return this.connections.putConnection(...a); }
  getConnection(...a: Parameters<ConnectionRows["getConnection"]>) { return this.connections.getConnection(...a); }
  deleteConnection(...a: Parameters<ConnectionRows["deleteConnection"]>) { return this.connections.deleteConnection(...a); }
  attachSpeaker(...a: Parameters<ConnectionRows["attachSpeaker"]>) { return this.connections.attachSpeaker(...a); }
  markJoined(...a: Parameters<ConnectionRows["markJoined"]>) { return this.connections.markJoined(...a); }
  claimResumeKey(...a: Parameters<ConnectionRows["claimResumeKey"]>) { return this.connections.claimResumeKey(...a); }
  releaseResumeKey(...a: Parameters<ConnectionRows["releaseResumeKey"]>) { return this.connections.releaseResumeKey(...a); }
  markLanguage(...a: Parameters<ConnectionRows["markLanguage"]>) { return this.connections.markLanguage(...a); }
  markLeft(...a: Parameters<ConnectionRows["markLeft"]>) { return this.connections.markLeft(...a); }
  restoreListener(...a: Parameters<ConnectionRows["restoreListener"]>) { return this.connections.restoreListener(...a); }
  restoreConnection(...a: Parameters<ConnectionRows["restoreConnection"]>) { return this.connections.restoreConnection(...a); }
  setViewerChannel(...a: Parameters<ConnectionRows["setViewerChannel"]>) { return this.connections.setViewerChannel(...a); }
  touchConnection(...a: Parameters<ConnectionRows["touchConnection"]>) { return this.connections.touchConnection(...a); }
  listSessionConnections(...a: Parameters<ConnectionRows["listSessionConnections"]>) { return this.connections.listSessionConnections(...a); }
  scanConnections() { return this.connections.scanConnections(); }

  // Transcript segments (segments.ts)
  putSegment(item: SegmentItem) { return this.segments.putSegment(item); }
  listSegments(sessionId: string) { return this.segments.listSegments(sessionId); }

  // Rate limits (rate-limits.ts)
  hit(...a: Parameters<RateLimits["hit"]>) { return this.rateLimits.hit(...a); }
  peek(...a: Parameters<RateLimits["peek"]>) { return this.rateLimits.peek(...a); }
  enforce(...a: Parameters<RateLimits["enforce"]>) { return this.rateLimits.enforce(...a); }
  guardedLookup<T>(clientIp: string, failedPerMinute: number, lookup: () => Promise<T | undefined>) { return this.rateLimits.guardedLookup(clientIp, failedPerMinute, lookup); }

  // Speakers (speakers.ts)
  getSpeaker(email: string) { return this.speakers.getSpeaker(email); }
  putSpeaker(item: SpeakerItem, overwrite = false) { return this.speakers.putSpeaker(item, overwrite); }
}
