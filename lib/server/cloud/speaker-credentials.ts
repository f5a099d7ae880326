import { EarshotError } from "../../core/errors";
import { channelName } from "../../core/signaling";
import type { KvsCredentials } from "../../core/protocol";
import type { Config } from "../config";
import { MASTER_ACTIONS, SPEAKER_TRANSCRIBE_ACTIONS } from "./kvs-actions";

/**
 * Cloud only: temporary AWS credentials for the speaker's browser to connect
 * as MASTER to the signaling channels of one session it owns (security
 * review, finding 8; before, the identity pool's signed-in role could be
 * master of every channel of the deployment, so one speaker could take over
 * another's broadcast).
 *
 * The Next app assumes the master role (KVS_MASTER_ROLE_ARN; its own policy
 * allows ConnectAsMaster on the channel prefix, a ceiling) with an STS
 * session policy naming this session's channel ARNs, one per possible shard:
 * the credentials are the intersection, so they open this session's channels
 * and nothing else. The same credentials presign the speaker's Amazon
 * Transcribe streaming URLs (live translation), so the policy also allows
 * that one action (it has no resource), in the deployment's region. The
 * caller has checked that the session is the speaker's.
 */

export type { KvsCredentials } from "../../core/protocol";

export interface AssumeRoleInput {
  RoleArn: string;
  RoleSessionName: string;
  DurationSeconds: number;
  /** The session policy (JSON). */
  Policy: string;
}

/** Calls STS AssumeRole; swapped for a fake in tests (AWS is unreachable there). */
export type AssumeRole = (input: AssumeRoleInput, region: string) => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }>;

const stsAssumeRole: AssumeRole = async (input, region) => {
  const { fromTemporaryCredentials } = await import("@aws-sdk/credential-providers");
  return fromTemporaryCredentials({ params: input, clientConfig: { region } })();
};

/** As long as a talk may run without a new fetch; the page fetches again near expiry. */
const CREDENTIALS_SECONDS = 3600;

/**
 * The session policy: MASTER_ACTIONS on this session's channels (every shard
 * it may open) and Transcribe streaming in this region, nothing else.
 */
export function masterSessionPolicy(config: Pick<Config, "aws" | "kvs">, sessionId: string, roleArn: string): string {
  const arn = /^arn:(aws[a-z-]*):iam::(\d{12}):role\//.exec(roleArn);
  if (!arn) throw new EarshotError("INTERNAL_ERROR", "KVS_MASTER_ROLE_ARN is not an IAM role ARN.");
  const [, partition, account] = arn;
  const resources = Array.from(
    { length: config.kvs.maxChannelsPerSession },
    (_, shard) => `arn:${partition}:kinesisvideo:${config.aws.region}:${account}:channel/${channelName(config.kvs.channelPrefix, sessionId, shard)}/*`,
  );
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: [...MASTER_ACTIONS], Resource: resources },
      {
        Effect: "Allow",
        Action: [...SPEAKER_TRANSCRIBE_ACTIONS],
        Resource: "*",
        Condition: { StringEquals: { "aws:RequestedRegion": config.aws.region } },
      },
    ],
  });
}

export async function speakerKvsCredentials(
  sessionId: string,
  config: Pick<Config, "aws" | "kvs">,
  assumeRole: AssumeRole = stsAssumeRole,
): Promise<KvsCredentials> {
  const roleArn = config.kvs.masterRoleArn;
  if (!roleArn) throw new EarshotError("INTERNAL_ERROR", "KVS_MASTER_ROLE_ARN is not configured.");
  const c = await assumeRole(
    {
      RoleArn: roleArn,
      RoleSessionName: `earshot-master-${sessionId}`.slice(0, 64),
      DurationSeconds: CREDENTIALS_SECONDS,
      Policy: masterSessionPolicy(config, sessionId, roleArn),
    },
    config.aws.region,
  );
  if (!c.accessKeyId || !c.secretAccessKey || !c.sessionToken || !c.expiration) {
    throw new EarshotError("INTERNAL_ERROR", "STS returned no credentials.");
  }
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration: c.expiration.getTime() };
}
