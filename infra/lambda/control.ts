import { createWebSocketHandler } from "../../lib/server/cloud/lambda-adapter";

/**
 * The Lambda entry of every WebSocket route ($connect, $disconnect, $default
 * and one per client action): the shared control-plane handlers, adapted in
 * lib/server/cloud/lambda-adapter.ts. Configuration comes from the
 * environment the stack sets (lib/server/config.ts validates it at cold start).
 */
export const handler = createWebSocketHandler();
