import { channelName, embeddedChannelArn } from "../../core/signaling";
import type { Config } from "../config";
import type { MediaChannels } from "../control/ports";
import type { TokenSigner } from "../tokens";
import type { SignalingRelay } from "./signaling-relay";

/**
 * MediaChannels on the embedded signaling relay (`/kvs`): the relay makes
 * channels on first use (ensure is a no-op); what the control plane releases
 * it closes; access is a signed grant per shard (a VIEWER's names its
 * control connection, so the relay refuses it once that connection gave its
 * slot back) and the relay's URL.
 */
export function relayChannels(options: {
  config: Pick<Config, "kvs" | "publicUrl">;
  /** Mints the grants; without one, channels are named and not granted (the relay then refuses them). */
  signer?: TokenSigner;
  /** Absent: nothing to close (a control plane of a test, beside the runtime's). */
  relay?: Pick<SignalingRelay, "closeSession" | "closeViewer">;
}): MediaChannels {
  const { config, signer, relay } = options;
  const endpoint = `${config.publicUrl.replace(/^http/, "ws")}/kvs`;
  return {
    ensure: async () => undefined,
    remove: async (sessionId) => relay?.closeSession(sessionId, "The session ended."),
    releaseViewer: async (sessionId, shard, clientId) =>
      relay?.closeViewer(channelName(config.kvs.channelPrefix, sessionId, shard), clientId, "The listener gave its media slot back."),
    async access({ sessionId, role, shards, clientId, connectionId }) {
      const channels = await Promise.all(
        shards.map(async (shard) => {
          const name = channelName(config.kvs.channelPrefix, sessionId, shard);
          if (!signer) return { shard, channelName: name };
          const { token, expiresAt } = await signer.signalingGrant({ channel: name, role, clientId, sessionId, connectionId });
          return { shard, channelName: name, channelArn: embeddedChannelArn(name), grant: token, grantExpiresAt: expiresAt };
        }),
      );
      return { channels, signaling: { kind: "embedded", endpoint } };
    },
  };
}
