import {
  CreateSignalingChannelCommand,
  DeleteSignalingChannelCommand,
  DescribeSignalingChannelCommand,
  KinesisVideoClient,
  type ChannelInfo,
} from "@aws-sdk/client-kinesis-video";
import { EarshotError } from "../../core/errors";
import { channelName } from "../../core/signaling";
import type { Logger, MediaAccess, MediaAccessRequest, MediaChannels } from "../control/ports";
import { createViewerCredentials, type ViewerCredentials } from "./viewer-credentials";

/**
 * MediaChannels on Kinesis Video Streams: one SINGLE_MASTER signaling channel
 * per shard of a session, named `${KVS_CHANNEL_PREFIX}${sessionId}-${shard}`
 * (channelName in lib/core/signaling.ts, shared with the browser side).
 *
 * Idempotent both ways: creating a channel that exists is fine (it is waited
 * for until ACTIVE), deleting one that does not exist is fine.
 *
 * Access: the channel names (browsers look up the ARN), and for a VIEWER
 * credentials that open only its one channel (viewer-credentials.ts); the
 * MASTER asks the Next app for its own (speaker-credentials.ts).
 */

export interface KvsChannelsOptions {
  /** KVS_CHANNEL_PREFIX. */
  prefix: string;
  logger?: Logger;
  /** How long ensure() waits for a channel to become ACTIVE. */
  activeTimeoutMs?: number;
  pollMs?: number;
  /** Seconds KVS keeps an undelivered signaling message (5-120). */
  messageTtlSeconds?: number;
  /** Issues listeners' channel-scoped credentials; forRegion makes it from `viewerRoleArn`. */
  viewerCredentials?: ViewerCredentials;
}

const errorName = (error: unknown): string | undefined => (error instanceof Error ? error.name : undefined);

export class KvsChannels implements MediaChannels {
  private readonly activeTimeoutMs: number;
  private readonly pollMs: number;

  constructor(
    readonly client: KinesisVideoClient,
    private readonly options: KvsChannelsOptions,
  ) {
    this.activeTimeoutMs = options.activeTimeoutMs ?? 10_000;
    // DescribeSignalingChannel allows 5 TPS per channel; stay well under it.
    this.pollMs = options.pollMs ?? 500;
  }

  /** `viewerRoleArn` (KVS_VIEWER_ROLE_ARN): the role assumed, per channel, for listeners' credentials. */
  static forRegion(region: string, options: KvsChannelsOptions & { viewerRoleArn?: string }): KvsChannels {
    const { viewerRoleArn, ...rest } = options;
    const viewerCredentials = rest.viewerCredentials ?? (viewerRoleArn ? createViewerCredentials({ roleArn: viewerRoleArn, region }) : undefined);
    return new KvsChannels(new KinesisVideoClient({ region }), { ...rest, viewerCredentials });
  }

  async access({ sessionId, role, shards }: MediaAccessRequest): Promise<MediaAccess> {
    const channels = shards.map((shard) => ({ shard, channelName: channelName(this.options.prefix, sessionId, shard) }));
    const region = await this.client.config.region();
    if (role === "MASTER") return { channels, signaling: { kind: "kvs", region } };
    if (!this.options.viewerCredentials) throw new EarshotError("INTERNAL_ERROR", "KVS_VIEWER_ROLE_ARN is not configured: listeners cannot get credentials.");
    if (channels.length !== 1) throw new EarshotError("INTERNAL_ERROR", "A viewer is given exactly one channel.");
    const credentials = await this.options.viewerCredentials.forChannel(channels[0]!.channelName);
    return { channels, signaling: { kind: "kvs", region, credentials } };
  }

  /** The channel names of shards 0..count-1. */
  names(sessionId: string, count: number): string[] {
    return Array.from({ length: Math.max(0, count) }, (_, shard) => channelName(this.options.prefix, sessionId, shard));
  }

  async ensure(sessionId: string, count: number): Promise<void> {
    await Promise.all(this.names(sessionId, count).map((name) => this.ensureOne(name)));
  }

  async remove(sessionId: string, count: number): Promise<void> {
    await Promise.all(this.names(sessionId, count).map((name) => this.removeOne(name)));
  }

  private async create(name: string): Promise<void> {
    try {
      await this.client.send(
        new CreateSignalingChannelCommand({
          ChannelName: name,
          ChannelType: "SINGLE_MASTER",
          SingleMasterConfiguration: { MessageTtlSeconds: this.options.messageTtlSeconds ?? 60 },
        }),
      );
      this.options.logger?.debug("signaling channel created", { channel: name });
    } catch (error) {
      const n = errorName(error);
      if (n === "ResourceInUseException") return; // exists already (or is being made): fine
      if (n === "AccountChannelLimitExceededException") {
        throw new EarshotError("CHANNEL_FULL", "The AWS account has reached its signaling channel quota.", { cause: error });
      }
      throw error;
    }
  }

  private async describe(name: string): Promise<ChannelInfo | undefined> {
    try {
      const out = await this.client.send(new DescribeSignalingChannelCommand({ ChannelName: name }));
      return out.ChannelInfo;
    } catch (error) {
      if (errorName(error) === "ResourceNotFoundException") return undefined;
      throw error;
    }
  }

  private async ensureOne(name: string): Promise<void> {
    await this.create(name);
    const deadline = Date.now() + this.activeTimeoutMs;
    for (;;) {
      const info = await this.describe(name);
      if (info?.ChannelStatus === "ACTIVE" || info?.ChannelStatus === "UPDATING") return;
      // Gone (a delete finished between our create and describe): make it again.
      if (!info) await this.create(name);
      if (Date.now() >= deadline) {
        throw new EarshotError("INTERNAL_ERROR", `Signaling channel ${name} is not ACTIVE (${info?.ChannelStatus ?? "missing"}).`);
      }
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  private async removeOne(name: string): Promise<void> {
    const info = await this.describe(name);
    if (!info?.ChannelARN || info.ChannelStatus === "DELETING") return;
    try {
      await this.client.send(new DeleteSignalingChannelCommand({ ChannelARN: info.ChannelARN, CurrentVersion: info.Version }));
      this.options.logger?.debug("signaling channel deleted", { channel: name });
    } catch (error) {
      const n = errorName(error);
      if (n === "ResourceNotFoundException") return;
      if (n === "VersionMismatchException" || n === "ResourceInUseException") {
        // Changed or already being deleted underneath us: one more try by ARN alone.
        try {
          await this.client.send(new DeleteSignalingChannelCommand({ ChannelARN: info.ChannelARN }));
        } catch (again) {
          if (errorName(again) !== "ResourceNotFoundException" && errorName(again) !== "ResourceInUseException") throw again;
        }
        return;
      }
      throw error;
    }
  }
}
