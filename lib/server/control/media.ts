import { randomUUID } from "node:crypto";
import { EarshotError } from "../../core/errors";
import type { ServerMessage } from "../../core/protocol";
import { shardViewersAttribute, type SessionItem } from "../../core/schema";
import { liveSession, requireSession, type ActionHandler, type ActionTable, type ControlContext } from "./context";
import { postOrForget } from "./fanout";

/**
 * Media channels: the speaker is MASTER of every signaling shard of its
 * session; a listener who wants the original audio takes a viewer slot on
 * one shard (a new shard opens when all are full). How a client reaches its
 * channels (relay grant, or KVS with scoped credentials) is the
 * MediaChannels port's business.
 */

async function masterChannels(ctx: ControlContext, session: SessionItem, requestId?: string): Promise<ServerMessage> {
  const shards = Array.from({ length: session.channelCount }, (_, shard) => shard);
  const { channels, signaling } = await ctx.channels.access({ sessionId: session.sessionId, role: "MASTER", shards, clientId: "MASTER" });
  return { type: "mediaChannel", requestId, sessionId: session.sessionId, role: "MASTER", channels, signaling };
}

/** Finds a shard with room for one more viewer, opening a new one when all are full. */
async function claimShard(ctx: ControlContext, sessionId: string): Promise<{ shard: number; opened: boolean }> {
  const { store, config } = ctx;
  const cap = config.kvs.viewersPerChannel;
  for (let attempt = 0; attempt < config.kvs.maxChannelsPerSession * 2 + 2; attempt++) {
    const session = await liveSession(ctx, sessionId);
    for (let shard = 0; shard < session.channelCount; shard++) {
      const used = session[shardViewersAttribute(shard)];
      if (typeof used === "number" && used >= cap) continue;
      if (await store.claimShardSlot(sessionId, shard, cap)) return { shard, opened: false };
    }
    if (session.channelCount >= config.kvs.maxChannelsPerSession) break;
    const shard = session.channelCount;
    await ctx.channels.ensure(sessionId, shard + 1);
    await store.openShard(sessionId, shard); // lost races are fine: loop and claim
    if (await store.claimShardSlot(sessionId, shard, cap)) return { shard, opened: true };
  }
  throw new EarshotError("CHANNEL_FULL", "This session has reached its listener limit.");
}

export const getMediaChannel: ActionHandler<"getMediaChannel"> = async (ctx, msg, conn, reply, event) => {
  const { store } = ctx;
  const sessionId = requireSession(conn);
  if (conn.role === "speaker") {
    const session = await liveSession(ctx, sessionId);
    if (conn.speakerId !== session.speakerId) throw new EarshotError("UNAUTHORIZED_ACTION");
    await reply(await masterChannels(ctx, session, msg.requestId));
    return;
  }
  const session = await liveSession(ctx, sessionId);
  if (!conn.joinedLanguage) throw new EarshotError("INVALID_ACTION", "Join the session before asking for media.");
  let shard = conn.channelIndex;
  let clientId = conn.viewerClientId;
  if (shard === undefined || clientId === undefined) {
    const claimed = await claimShard(ctx, sessionId);
    const newId = `v-${randomUUID()}`;
    const before = await store.setViewerChannel(event.connectionId, claimed.shard, newId);
    if (!before) {
      // Another request of this connection won the race: give our slot back and use its shard.
      await store.adjustCounts(sessionId, {}, { [claimed.shard]: -1 });
      const now = await store.getConnection(event.connectionId);
      if (now?.channelIndex === undefined || !now.viewerClientId) throw new EarshotError("CONFLICT");
      shard = now.channelIndex;
      clientId = now.viewerClientId;
    } else {
      shard = claimed.shard;
      clientId = newId;
    }
    if (claimed.opened && session.speakerConnectionId) {
      // The speaker must become master of the new shard before this viewer offers.
      const latest = await store.getSession(sessionId, true);
      if (latest?.speakerConnectionId) await postOrForget(ctx, latest.speakerConnectionId, await masterChannels(ctx, latest));
    }
  }
  // Embedded: a relay grant bound to this connection; cloud: credentials scoped to this one channel.
  const { channels, signaling } = await ctx.channels.access({ sessionId, role: "VIEWER", shards: [shard], clientId, connectionId: event.connectionId });
  await reply({ type: "mediaChannel", requestId: msg.requestId, sessionId, role: "VIEWER", clientId, channels, signaling });
};

export const mediaActions = { getMediaChannel } satisfies Partial<ActionTable>;
