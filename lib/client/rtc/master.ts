import type { MediaChannelGrant, MediaChannelMessage, SignalingAccess } from "@/lib/core/protocol";
import { DefaultReconnectPolicy, type ReconnectPolicy } from "@/lib/client/backoff";
import { TypedEmitter } from "@/lib/client/emitter";
import { RtcError } from "./errors";
import { MasterChannel, type ChannelHost, type MasterChannelStatus } from "./master-channel";
import { rtcLogger } from "./log";
import { createSignaling, type SignalingFactory } from "./signaling";

export { SDP_PER_SECOND, type MasterChannelState, type MasterChannelStatus } from "./master-channel";

/**
 * The speaker's side of the media: MASTER on every signaling channel (shard)
 * of the session, and ONE RTCPeerConnection PER VIEWER, keyed by the
 * viewer's client id (the `senderClientId` of its offer). Answers and ICE
 * candidates go to that viewer only. A viewer's connection is closed and
 * forgotten when it fails, stays disconnected, or when the same viewer
 * offers again (it reconnected: the new offer replaces the old connection).
 *
 * Layers, one file each: `BroadcastMaster` (here: what the page sees) →
 * `MasterChannel` (master-channel.ts: one signaling connection, reconnecting
 * and renewing on its own) → `ViewerPeer` (viewer-peer.ts: one peer
 * connection). Outside state comes in through the constructor: the mic
 * stream and `refreshChannels` (getMediaChannel over the control channel).
 */

const log = rtcLogger("rtc:master");

/** KVS closes a signaling connection after 1 h (GO_AWAY first): renew it before, on a timer, if no GO_AWAY came. */
const DEFAULT_RENEW_SIGNALING_MS = 55 * 60_000;

export interface BroadcastMasterOptions {
  /** The microphone (its first audio track is sent). */
  stream: MediaStream;
  /** Fresh MASTER grants (getMediaChannel as the speaker), for reconnects after a grant expired. */
  refreshChannels: () => Promise<MediaChannelMessage>;
  signaling?: SignalingFactory;
  reconnectPolicy?: ReconnectPolicy;
  /** How long a viewer may stay "disconnected" before its connection is dropped, ms (default 5 000). */
  disconnectGraceMs?: number;
  /** How long one signaling connect may take, ms (default 10 000). */
  openTimeoutMs?: number;
  /** Failed first connects of a channel before setChannels() rejects (default 3); the channel keeps trying. */
  initialAttempts?: number;
  createPeerConnection?: (configuration: RTCConfiguration) => RTCPeerConnection;
  /**
   * A signaling connection is renewed (a new one opened, then the old one
   * closed; peer connections untouched) after this long, or at once on the
   * relay's GO_AWAY, ms (default 55 min: KVS and the relay close at 1 h).
   */
  renewSignalingAfterMs?: number;
}

export interface BroadcastMasterEvents {
  /** The number of viewers with a connected peer connection changed. */
  peersChanged: (connected: number) => void;
  /** A channel was added, removed or changed state. */
  channelsChanged: (channels: MasterChannelStatus[]) => void;
  /** Something failed that the page may want to show. */
  error: (error: RtcError) => void;
}

export class BroadcastMaster extends TypedEmitter<BroadcastMasterEvents> {
  private readonly channels = new Map<number, MasterChannel>();
  private readonly host: ChannelHost;
  private readonly track: MediaStreamTrack;
  private latestAccess?: SignalingAccess;
  private muted = false;
  private paused = false;
  private closed = false;
  private lastPeerCount = 0;
  private refreshing?: Promise<MediaChannelMessage>;

  constructor(private readonly options: BroadcastMasterOptions) {
    super();
    const track = options.stream.getAudioTracks()[0];
    if (!track) throw new RtcError("MIC_NOT_FOUND", "The stream has no audio track.");
    this.track = track;
    this.host = {
      track,
      stream: options.stream,
      signaling: options.signaling ?? createSignaling,
      policy: options.reconnectPolicy ?? new DefaultReconnectPolicy({ baseDelayMs: 300, maxDelayMs: 10_000, maxElapsedMs: Number.POSITIVE_INFINITY }),
      disconnectGraceMs: options.disconnectGraceMs ?? 5_000,
      openTimeoutMs: options.openTimeoutMs ?? 10_000,
      initialAttempts: options.initialAttempts ?? 3,
      renewSignalingAfterMs: options.renewSignalingAfterMs ?? DEFAULT_RENEW_SIGNALING_MS,
      access: () => {
        if (!this.latestAccess) throw new RtcError("CHANNEL_CONFIG", "No media channel yet.");
        return this.latestAccess;
      },
      freshGrant: (shard) => this.freshGrant(shard),
      createPeerConnection: options.createPeerConnection ?? ((c) => new RTCPeerConnection(c)),
      changed: () => this.changed(),
      failed: (error) => this.emit("error", error),
    };
  }

  /** Viewers with a connected peer connection, over every channel. */
  get peerCount(): number {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.connectedPeers();
    return n;
  }

  get channelStatus(): MasterChannelStatus[] {
    return [...this.channels.values()].sort((a, b) => a.shard - b.shard).map((ch) => ch.status());
  }

  /** Every viewer's peer connection (for stats). */
  peerConnections(): RTCPeerConnection[] {
    return [...this.channels.values()].flatMap((ch) => ch.peerConnections());
  }

  /**
   * Becomes MASTER on every channel of the message: connects to the ones not
   * connected yet (new shards), keeps the others (their grant is kept for the
   * next reconnect), and leaves channels no longer listed. Resolves once every
   * listed channel is open; rejects when one could not be opened at all.
   */
  async setChannels(message: MediaChannelMessage): Promise<void> {
    if (this.closed) throw new RtcError("CHANNEL_CONFIG", "The broadcast was closed.");
    if (message.type !== "mediaChannel" || message.role !== "MASTER") {
      throw new RtcError("CHANNEL_CONFIG", "Expected the speaker's (MASTER) media channels.");
    }
    this.latestAccess = message.signaling;
    const listed = new Set<number>();
    const ready: Promise<void>[] = [];
    for (const grant of message.channels) {
      listed.add(grant.shard);
      let ch = this.channels.get(grant.shard);
      if (ch) ch.updateGrant(grant);
      else {
        ch = new MasterChannel(grant, this.host);
        this.channels.set(grant.shard, ch);
        log.debug("joining channel as master", { shard: grant.shard, channel: grant.channelName });
        ch.start();
      }
      ready.push(ch.ready);
    }
    for (const [shard, ch] of this.channels) {
      if (!listed.has(shard)) {
        ch.close();
        this.channels.delete(shard);
      }
    }
    this.changed();
    await Promise.all(ready);
  }

  /** Mute: the track sends silence (`enabled = false`); no renegotiation. */
  setMuted(muted: boolean): void {
    this.muted = muted;
    this.applyTrackState();
  }

  /** Pausing stops the audio the same way. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    this.applyTrackState();
  }

  get isMuted(): boolean {
    return this.muted;
  }

  /** Closes every peer connection and signaling connection. The mic stream belongs to the caller. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ch of this.channels.values()) ch.close();
    this.channels.clear();
    this.changed();
    this.removeAllListeners();
  }

  private applyTrackState(): void {
    this.track.enabled = !(this.muted || this.paused);
  }

  private async freshGrant(shard: number): Promise<MediaChannelGrant> {
    this.refreshing ??= this.options.refreshChannels().finally(() => (this.refreshing = undefined));
    const message = await this.refreshing;
    if (message.type !== "mediaChannel" || message.role !== "MASTER") throw new RtcError("CHANNEL_CONFIG", "Expected MASTER grants.");
    this.latestAccess = message.signaling;
    const grant = message.channels.find((c) => c.shard === shard);
    if (!grant) throw new RtcError("CHANNEL_CONFIG", `The session has no channel ${shard} any more.`);
    return grant;
  }

  private changed(): void {
    const count = this.peerCount;
    this.emit("channelsChanged", this.channelStatus);
    if (count !== this.lastPeerCount) {
      this.lastPeerCount = count;
      this.emit("peersChanged", count);
    }
  }
}
