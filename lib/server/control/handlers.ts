import { EarshotError, toEarshotError } from "../../core/errors";
import { SPEAKER_ACTIONS, parseClientMessage } from "../../core/protocol";
import type { ConnectionItem } from "../../core/schema";
import { SpeechPipeline } from "../speech/pipeline";
import { enginesOf, type ActionHandler, type ActionTable, type ControlContext, type ControlPlaneDeps, type Reply } from "./context";
import { connect, disconnect, forgetGone } from "./lifecycle";
import { mediaActions } from "./media";
import type { ControlEvent, ControlResult } from "./ports";
import { sessionActions } from "./session";
import { sweep, type SweepOptions, type SweepReport } from "./sweep";
import { speechActions } from "./transcript";

/**
 * The WebSocket control plane: API Gateway's route keys in, statuses and
 * messages out through ports. The embedded gateway and the Lambda both wrap
 * exactly this module.
 *
 * This file only builds the context and dispatches. The handlers are
 * module-level functions over it, one per action, by concern:
 * `session.ts` (create, join, change language, leave, broadcast state, end,
 * heartbeat, status), `media.ts` (media channels and shards),
 * `transcript.ts` (recogniser, transcripts); `lifecycle.ts` is `$connect` and
 * `$disconnect`, `sweep.ts` the sweeper, `fanout.ts` and `status.ts` what
 * they share.
 */

export type { ControlPlaneDeps } from "./context";
export type { SweepOptions, SweepReport } from "./sweep";
export { createCoalescingNotifier, pushStatus } from "./status";

export interface ControlPlane {
  handle(event: ControlEvent): Promise<ControlResult>;
  /**
   * Removes connection rows whose socket is gone and un-counts them; tells
   * and closes connections of sessions that expired; then recomputes every
   * open session's counts from the rows that remain. Returns what it did.
   */
  sweep(isAlive: (connection: ConnectionItem) => Promise<boolean> | boolean, options?: SweepOptions): Promise<SweepReport>;
}

/** Every action's handler. A missing or extra action fails to compile. */
const actions: ActionTable = { ...sessionActions, ...mediaActions, ...speechActions };

const OK: ControlResult = { statusCode: 200 };

function reject(error: EarshotError): ControlResult {
  return { statusCode: error.status, error: error.toBody(), retryAfter: error.retryAfter };
}

export function createControlPlane(deps: ControlPlaneDeps): ControlPlane {
  const ctx: ControlContext = {
    ...deps,
    engines: () => enginesOf(deps.speech),
    forget: (connectionId) => forgetGone(ctx, connectionId),
    pipeline: new SpeechPipeline({
      store: deps.store,
      connections: deps.connections,
      speech: deps.speech,
      logger: deps.logger,
      forget: (connectionId) => ctx.forget(connectionId),
    }),
  };

  async function message(event: ControlEvent): Promise<ControlResult> {
    const reply: Reply = async (m) => {
      await ctx.connections.post(event.connectionId, m);
    };
    const parsed = parseClientMessage(event.body);
    if (!parsed.ok) {
      await reply({ type: "error", code: parsed.code, message: parsed.message, action: parsed.action, requestId: parsed.requestId });
      return OK;
    }
    const msg = parsed.message;
    try {
      const conn = await ctx.store.getConnection(event.connectionId);
      if (!conn) throw new EarshotError("SESSION_NOT_FOUND", "This connection is no longer registered; reconnect.");
      if (SPEAKER_ACTIONS.has(msg.action) && conn.role !== "speaker") {
        throw new EarshotError("UNAUTHORIZED_ACTION", "Only the session's speaker may do that.");
      }
      await (actions[msg.action] as ActionHandler<typeof msg.action>)(ctx, msg, conn, reply, event);
    } catch (error) {
      const e = toEarshotError(error);
      if (e.code === "INTERNAL_ERROR") ctx.logger.error("action failed", { action: msg.action, connectionId: event.connectionId, error: e.cause ?? e });
      await reply({ type: "error", code: e.code, message: e.message, action: msg.action, requestId: msg.requestId });
    }
    return OK;
  }

  return {
    sweep: (isAlive, options) => sweep(ctx, isAlive, options),
    async handle(event) {
      try {
        if (event.routeKey === "$connect") {
          await connect(ctx, event);
          return OK;
        }
        if (event.routeKey === "$disconnect") {
          await disconnect(ctx, event.connectionId);
          return OK;
        }
        return await message(event);
      } catch (error) {
        const e = toEarshotError(error);
        if (e.code === "INTERNAL_ERROR") ctx.logger.error("route failed", { routeKey: event.routeKey, error: e.cause ?? e });
        return reject(e);
      }
    },
  };
}
