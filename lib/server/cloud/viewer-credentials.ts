import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { EarshotError } from "../../core/errors";
import type { KvsCredentials } from "../../core/protocol";
import { VIEWER_ACTIONS } from "./kvs-actions";

/**
 * Cloud only: a listener's KVS credentials, scoped to the one signaling
 * channel the control plane gave it (security review, finding 8, listener
 * side; before, the identity pool's guest role could ConnectAsViewer to
 * every channel under the prefix with any client id, past grants, capacity
 * and counts).
 *
 * The control Lambda assumes the viewer role (KVS_VIEWER_ROLE_ARN; its own
 * policy, VIEWER_ACTIONS on the prefix, is only a ceiling, and only the
 * Lambda's role may assume it) with an STS session policy naming that one
 * channel's ARN: the credentials are the intersection. They are cached per
 * channel for a few minutes, so a burst of joins costs one AssumeRole per
 * channel, and every answer has most of its lifetime left.
 */

/** How long the credentials last (the viewer role's maximum session is 1 h). */
export const VIEWER_CREDENTIALS_SECONDS = 3600;
/** How long one channel's credentials are handed out again: every answer keeps at least 55 min. */
export const VIEWER_CREDENTIALS_CACHE_MS = 5 * 60_000;

export interface ViewerCredentialsOptions {
  /** KVS_VIEWER_ROLE_ARN. */
  roleArn: string;
  /** The deployment's region (the channels'). */
  region: string;
  /** Defaults to an STS client for `region`. */
  sts?: Pick<STSClient, "send">;
  /** Epoch ms; defaults to Date.now. */
  now?: () => number;
  cacheMs?: number;
}

export interface ViewerCredentials {
  /** Credentials that may only view `channelName` (no other channel, no MASTER). */
  forChannel(channelName: string): Promise<KvsCredentials>;
}

/** The session policy: VIEWER_ACTIONS on this one channel (ARN by name: `channel/<name>/*`), nothing else. */
export function viewerSessionPolicy(region: string, channelName: string, roleArn: string): string {
  const arn = /^arn:(aws[a-z-]*):iam::(\d{12}):role\//.exec(roleArn);
  if (!arn) throw new EarshotError("INTERNAL_ERROR", "KVS_VIEWER_ROLE_ARN is not an IAM role ARN.");
  if (!/^[a-zA-Z0-9_.-]{1,256}$/.test(channelName)) throw new EarshotError("INVALID_PARAMETER", "Not a signaling channel name.");
  const [, partition, account] = arn;
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: [...VIEWER_ACTIONS], Resource: [`arn:${partition}:kinesisvideo:${region}:${account}:channel/${channelName}/*`] }],
  });
}

export function createViewerCredentials(options: ViewerCredentialsOptions): ViewerCredentials {
  const sts = options.sts ?? new STSClient({ region: options.region });
  const now = options.now ?? Date.now;
  const cacheMs = options.cacheMs ?? VIEWER_CREDENTIALS_CACHE_MS;
  // One entry per channel; a failed call is not kept. Entries go when they are next looked at after expiry.
  const cache = new Map<string, { at: number; value: Promise<KvsCredentials> }>();

  async function assume(channelName: string): Promise<KvsCredentials> {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: options.roleArn,
        RoleSessionName: `earshot-viewer-${channelName}`.slice(0, 64),
        DurationSeconds: VIEWER_CREDENTIALS_SECONDS,
        Policy: viewerSessionPolicy(options.region, channelName, options.roleArn),
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new EarshotError("INTERNAL_ERROR", "STS returned no credentials.");
    }
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration.getTime() };
  }

  return {
    forChannel(channelName) {
      const t = now();
      for (const [name, entry] of cache) if (t - entry.at >= cacheMs) cache.delete(name);
      const hit = cache.get(channelName);
      if (hit) return hit.value;
      const value = assume(channelName);
      cache.set(channelName, { at: t, value });
      value.catch(() => {
        if (cache.get(channelName)?.value === value) cache.delete(channelName);
      });
      return value;
    },
  };
}
