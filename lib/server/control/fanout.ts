import type { BroadcastEvent, ServerMessage } from "../../core/protocol";
import type { ConnectionItem, SessionItem } from "../../core/schema";
import type { ControlContext } from "./context";
import { broadcastState } from "./status";

/** Messages to many connections of a session: bounded concurrency, and a connection found gone is forgotten. */

/** Sends one message; a connection that is gone is un-counted and deleted. */
export async function postOrForget(ctx: ControlContext, connectionId: string, message: ServerMessage): Promise<void> {
  const delivered = await ctx.connections.post(connectionId, message);
  if (!delivered) await ctx.forget(connectionId);
}

/** Runs `fn` for every connection of a session, 32 at a time; one failing is logged and the rest go on. */
export async function forEachConnection(
  ctx: Pick<ControlContext, "store" | "logger">,
  sessionId: string,
  fn: (c: ConnectionItem) => Promise<void>,
): Promise<void> {
  const all = await ctx.store.listSessionConnections(sessionId);
  const queue = [...all];
  const workers = Array.from({ length: Math.min(32, queue.length) }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      try {
        await fn(c);
      } catch (error) {
        ctx.logger.warn("fan-out to a connection failed", { connectionId: c.connectionId, error });
      }
    }
  });
  await Promise.all(workers);
}

/** Tells every connection of a session a broadcast event; the requester's copy echoes its requestId. */
export async function tell(ctx: ControlContext, session: SessionItem, type: BroadcastEvent, requestId?: string, requester?: string): Promise<void> {
  const base = { type, sessionId: session.sessionId, broadcastState: broadcastState(session) } as const;
  await forEachConnection(ctx, session.sessionId, (c) =>
    postOrForget(ctx, c.connectionId, c.connectionId === requester ? { ...base, requestId } : base),
  );
}
