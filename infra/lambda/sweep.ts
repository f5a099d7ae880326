import { createSweepHandler } from "../../lib/server/cloud/lambda-adapter";

/**
 * Scheduled (EventBridge) sweep of the control plane: removes connections
 * API Gateway no longer holds (its $disconnect is best-effort), ends expired
 * sessions' listeners and reconciles listener counts. Same environment as the
 * control Lambda.
 */
export const handler = createSweepHandler();
