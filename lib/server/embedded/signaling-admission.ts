import { EarshotError, type ErrorCode } from "../../core/errors";
import {
  KVS_ID_PATTERN,
  SIGNALING_QUERY,
  TokenBucket,
  isEmbeddedChannelArn,
  parseChannelArn,
  type SignalingRole,
} from "../../core/signaling";
import type { SignalingClaims } from "../tokens";

/**
 * Who may connect to the embedded signaling relay (signaling-relay.ts): the
 * connect URL, the grant checked against it, and each client's connect budget.
 */

/** Forget connect buckets (once refilled: a full bucket is a new one) past this many. */
const CONNECT_BUCKET_SWEEP_AT = 1024;

/** A refused connect: the HTTP status the upgrade is answered with, and the error body. */
export class Refused extends EarshotError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly httpStatus: number,
    retryAfter?: number,
  ) {
    super(code, message, retryAfter === undefined ? undefined : { retryAfter });
  }
}

export interface ConnectRequest {
  channel: string;
  /** Present for a VIEWER, absent for the MASTER. */
  clientId?: string;
  grant: string;
}

export function requestedRole(request: ConnectRequest): SignalingRole {
  return request.clientId === undefined ? "MASTER" : "VIEWER";
}

/** Reads the connect URL's query (channel ARN, client id, grant); throws Refused when it is unusable. */
export function parseConnectRequest(url: string | undefined): ConnectRequest {
  let params: URLSearchParams;
  try {
    params = new URL(url ?? "/", "http://relay.invalid").searchParams;
  } catch {
    throw new Refused("INVALID_PARAMETER", "The request URL is malformed.", 400);
  }
  const single = (name: string): string | undefined => {
    const values = params.getAll(name);
    if (values.length > 1) throw new Refused("INVALID_PARAMETER", `${name} is given more than once.`, 400);
    return values[0];
  };
  const arn = single(SIGNALING_QUERY.channelArn);
  const clientId = single(SIGNALING_QUERY.clientId);
  const grant = single(SIGNALING_QUERY.grant);
  if (!arn) throw new Refused("MISSING_PARAMETER", `${SIGNALING_QUERY.channelArn} is required.`, 400);
  const parts = parseChannelArn(arn);
  if (!parts) throw new Refused("INVALID_PARAMETER", `${SIGNALING_QUERY.channelArn} is not a signaling channel ARN.`, 400);
  if (!isEmbeddedChannelArn(arn)) {
    throw new Refused("INVALID_PARAMETER", `${SIGNALING_QUERY.channelArn} is not an embedded channel ARN (arn:aws:kinesisvideo:local:000000000000:channel/NAME/0).`, 400);
  }
  if (clientId !== undefined && !KVS_ID_PATTERN.test(clientId)) {
    throw new Refused("INVALID_PARAMETER", `${SIGNALING_QUERY.clientId} must be 1-256 characters of [a-zA-Z0-9_.-].`, 400);
  }
  if (!grant) throw new Refused("UNAUTHORIZED", `A signaling grant (${SIGNALING_QUERY.grant}) is required.`, 401);
  return { channel: parts.channelName, clientId, grant };
}

/** A verified grant must name the channel, role and client id the request asks for. */
export function checkGrant(claims: SignalingClaims, request: ConnectRequest): void {
  if (claims.channel !== request.channel) {
    throw new Refused("UNAUTHORIZED_ACTION", "The grant is for another signaling channel.", 403);
  }
  const role = requestedRole(request);
  if (claims.role !== role) {
    throw new Refused(
      "UNAUTHORIZED_ACTION",
      role === "MASTER"
        ? "The grant does not allow connecting as MASTER (a VIEWER grant needs X-Amz-ClientId)."
        : "The grant does not allow connecting as VIEWER (a MASTER grant connects without X-Amz-ClientId).",
      403,
    );
  }
  if (role === "VIEWER" && claims.clientId !== request.clientId) {
    throw new Refused("UNAUTHORIZED_ACTION", "The grant is for another client id.", 403);
  }
}

/** One connect budget per client of a channel (the MASTER's apart): nobody spends another's connects. */
export class ConnectBudgets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly perSecond: number) {}

  /** Spends one connect of `clientId` on `channel` at time `t`; throws Refused (429) when none is left. */
  spend(channel: string, clientId: string, t: number): void {
    const key = `${channel}\u0000${clientId}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      this.sweep(t);
      bucket = new TokenBucket(this.perSecond, this.perSecond, t);
      this.buckets.set(key, bucket);
    }
    if (!bucket.take(t)) {
      const retryAfter = bucket.retryAfter(t);
      throw new Refused("RATE_LIMIT_EXCEEDED", `Too many connects of this client to this channel; retry in ${retryAfter} s.`, 429, retryAfter);
    }
  }

  private sweep(t: number): void {
    if (this.buckets.size < CONNECT_BUCKET_SWEEP_AT) return;
    for (const [key, bucket] of this.buckets) if (bucket.isFull(t)) this.buckets.delete(key);
  }
}
