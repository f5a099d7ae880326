import type { BroadcastState, ServerMessage } from "../../core/protocol";
import { languageDistribution, shardViewersAttribute, type SessionItem } from "../../core/schema";
import type { ControlPlaneDeps } from "./context";
import type { Logger, StatusNotifier } from "./ports";

/** What a session's speaker is told about it: counts and broadcast state, and how count changes reach it. */

/** Listeners holding a media slot (they hear the original): the sum of the session's shard viewer counts. */
export function originalListeners(session: SessionItem): number {
  let total = 0;
  for (let k = 0; k < session.channelCount; k++) {
    const n = session[shardViewersAttribute(k)];
    if (typeof n === "number" && n > 0) total += n;
  }
  return total;
}

export function broadcastState(session: SessionItem): BroadcastState {
  return { status: session.status, muted: session.muted, live: session.live };
}

export function statusMessage(session: SessionItem, requestId?: string): ServerMessage {
  return {
    type: "sessionStatus",
    requestId,
    sessionId: session.sessionId,
    listenerCount: session.listenerCount,
    languageDistribution: languageDistribution(session),
    originalListeners: originalListeners(session),
    broadcastState: broadcastState(session),
    timestamp: Date.now(),
  };
}

/** Pushes the current counts to the session's speaker (read consistently, so a late push is never stale). */
export async function pushStatus(deps: Pick<ControlPlaneDeps, "store" | "connections">, sessionId: string): Promise<void> {
  const session = await deps.store.getSession(sessionId, true);
  if (!session?.speakerConnectionId) return;
  const delivered = await deps.connections.post(session.speakerConnectionId, statusMessage(session));
  if (!delivered) await deps.store.setSpeakerConnection(sessionId, undefined, session.speakerConnectionId);
}

/** Coalesces bursts of count changes into one push per session every `delayMs` (embedded runtime). */
export function createCoalescingNotifier(push: (sessionId: string) => Promise<void>, delayMs = 100, logger?: Logger): StatusNotifier & { flush(): Promise<void> } {
  const pending = new Map<string, NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  const run = (sessionId: string) => {
    pending.delete(sessionId);
    const p = push(sessionId)
      .catch((error: unknown) => logger?.warn("status push failed", { sessionId, error }))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  return {
    countsChanged(sessionId) {
      if (pending.has(sessionId)) return;
      pending.set(sessionId, setTimeout(run, delayMs, sessionId));
    },
    async flush() {
      for (const [sessionId, timer] of pending) {
        clearTimeout(timer);
        run(sessionId);
      }
      await Promise.all(inFlight);
    },
  };
}
