import type { SignalingClient } from "amazon-kinesis-video-streams-webrtc";
import type { MediaChannelGrant, MediaChannelMessage, SignalingAccess } from "@/lib/core/protocol";
import { ICE_CANDIDATES_PER_SECOND, SIGNALING_CLOSE } from "@/lib/core/signaling";
import { DefaultReconnectPolicy, type ReconnectPolicy } from "@/lib/client/backoff";
import { TypedEmitter } from "@/lib/client/emitter";
import { RtcError } from "./errors";
import { rtcLogger } from "./log";
import { Pacer } from "./pacer";
import { SPEECH_MAX_BITRATE, tuneOpus } from "./sdp";
import { createSignaling, type SignalingFactory } from "./signaling";
import { closeSignaling, nextCorrelationId, openSignaling, readStatus } from "./signaling-session";
import { watchSdkSocket } from "./sdk-socket";

/**
 * The speaker's side of the media: MASTER on every signaling channel (shard)
 * of the session, and ONE RTCPeerConnection PER VIEWER, keyed by the
 * viewer's client id (the `senderClientId` of its offer). Answers and ICE
 * candidates go to that viewer only. A viewer's connection is closed and
 * forgotten when it fails, stays disconnected, or when the same viewer
 * offers again (it reconnected: the new offer replaces the old connection).
 *
 * Layers: `BroadcastMaster` (what the page sees) → `MasterChannel` (one
 * signaling connection, reconnecting on its own) → `ViewerPeer` (one peer
 * connection). Outside state comes in through the constructor: the mic
 * stream and `refreshChannels` (getMediaChannel over the control channel).
 */

const log = rtcLogger("rtc:master");

/**
 * Sending budgets per signaling connection, under KVS's 5 SDP and 20 ICE
 * messages per second (which the relay enforces the same way): messages sent
 * evenly can still arrive bunched, so keep a margin. ICE: lib/core/signaling.ts.
 */
export const SDP_PER_SECOND = 4;
/** A grant this close to expiry is refreshed before a reconnect. */
const GRANT_MARGIN_S = 15;
/** KVS closes a signaling connection after 1 h (GO_AWAY first): renew it before, on a timer, if no GO_AWAY came. */
const DEFAULT_RENEW_SIGNALING_MS = 55 * 60_000;

export type MasterChannelState = "connecting" | "open" | "reconnecting" | "closed";

export interface MasterChannelStatus {
  shard: number;
  channelName: string;
  state: MasterChannelState;
  /** Viewers with a connected peer connection on this channel. */
  peers: number;
}

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

interface ChannelHost {
  readonly track: MediaStreamTrack;
  readonly stream: MediaStream;
  readonly signaling: SignalingFactory;
  readonly policy: ReconnectPolicy;
  readonly disconnectGraceMs: number;
  readonly openTimeoutMs: number;
  readonly initialAttempts: number;
  readonly renewSignalingAfterMs: number;
  access(): SignalingAccess;
  freshGrant(shard: number): Promise<MediaChannelGrant>;
  createPeerConnection(configuration: RTCConfiguration): RTCPeerConnection;
  changed(): void;
  failed(error: RtcError): void;
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

// ---------------------------------------------------------------------------

class MasterChannel {
  readonly shard: number;
  readonly ready: Promise<void>;
  private grant: MediaChannelGrant;
  private state: MasterChannelState = "connecting";
  private client?: SignalingClient;
  private rtcConfiguration: RTCConfiguration = {};
  private readonly peers = new Map<string, ViewerPeer>();
  /** correlationId of each answer sent → its viewer, to hear about refusals. */
  private readonly answers = new Map<string, string>();
  private sdpPacer = new Pacer(SDP_PER_SECOND);
  private icePacer = new Pacer(ICE_CANDIDATES_PER_SECOND);
  private generation = 0;
  private retryCount = 0;
  private failedAt?: number;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private renewTimer?: ReturnType<typeof setTimeout>;
  private everOpened = false;
  private resolveReady!: () => void;
  private rejectReady!: (error: RtcError) => void;

  constructor(
    grant: MediaChannelGrant,
    private readonly host: ChannelHost,
  ) {
    this.shard = grant.shard;
    this.grant = grant;
    this.ready = new Promise<void>((resolve, reject) => ((this.resolveReady = resolve), (this.rejectReady = reject)));
    this.ready.catch(() => undefined); // reported through setChannels or the error event
  }

  status(): MasterChannelStatus {
    return { shard: this.shard, channelName: this.grant.channelName, state: this.state, peers: this.connectedPeers() };
  }

  connectedPeers(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.connected) n++;
    return n;
  }

  peerConnections(): RTCPeerConnection[] {
    return [...this.peers.values()].map((p) => p.pc);
  }

  updateGrant(grant: MediaChannelGrant): void {
    this.grant = grant;
  }

  start(): void {
    void this.connect();
  }

  close(): void {
    this.state = "closed";
    this.generation++;
    clearTimeout(this.retryTimer);
    clearTimeout(this.renewTimer);
    this.sdpPacer.clear();
    this.icePacer.clear();
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    closeSignaling(this.client);
    this.client = undefined;
    this.rejectReady(new RtcError("CHANNEL_CONFIG", "The channel was closed."));
  }

  private setState(state: MasterChannelState): void {
    if (this.state === state) return;
    this.state = state;
    this.host.changed();
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    try {
      let grant = this.grant;
      if (grant.grantExpiresAt !== undefined && grant.grantExpiresAt - Date.now() / 1000 < GRANT_MARGIN_S) {
        grant = await this.host.freshGrant(this.shard);
        this.grant = grant;
      }
      const setup = await this.host.signaling({ access: this.host.access(), channel: grant, role: "MASTER" });
      if (generation !== this.generation) return closeSignaling(setup.client);
      this.client = setup.client;
      this.rtcConfiguration = setup.rtcConfiguration;
      this.sdpPacer.clear();
      this.icePacer.clear();
      this.sdpPacer = new Pacer(SDP_PER_SECOND);
      this.icePacer = new Pacer(ICE_CANDIDATES_PER_SECOND);
      this.wire(setup.client, generation);
      await openSignaling(setup.client, this.host.openTimeoutMs);
      if (generation !== this.generation) return;
      // After open, a close or error is a drop. The SDK does not pass the close code on; its socket
      // (sdk-socket.ts) does, to listeners that run after the SDK's own, hence the decision a task later.
      let closeCode: number | undefined;
      const watched = watchSdkSocket(setup.client, {
        close: (code) => (closeCode = code),
        // The SDK ignores GO_AWAY (the relay or KVS is about to close this connection): renew it now.
        message: (data) => {
          if (typeof data === "string" && data.includes('"GO_AWAY"')) this.renew(generation, "GO_AWAY");
        },
      });
      if (!watched) log.debug("no SDK socket to read close codes from", { shard: this.shard });
      clearTimeout(this.renewTimer);
      this.renewTimer = setTimeout(() => this.renew(generation, "age"), this.host.renewSignalingAfterMs);
      setup.client.on("close", () =>
        setTimeout(() => {
          if (closeCode === SIGNALING_CLOSE.REPLACED) this.replaced(generation);
          else this.dropped(generation, new RtcError("SIGNALING_FAILED", "The audio relay connection closed."));
        }, 0),
      );
      setup.client.on("error", (cause: unknown) => this.dropped(generation, new RtcError("SIGNALING_FAILED", undefined, { cause })));
      this.everOpened = true;
      this.retryCount = 0;
      this.failedAt = undefined;
      this.setState("open");
      log.debug("master connected", { shard: this.shard });
      this.resolveReady();
    } catch (error) {
      this.dropped(generation, error instanceof RtcError ? error : new RtcError("SIGNALING_FAILED", undefined, { cause: error }));
    }
  }

  /**
   * Make-before-break: a new signaling connection is opened while the old one
   * still works (connect() starts a new generation, so the old connection's
   * close, 4001 or 1001, is ignored), then the old one is closed. Peer
   * connections are untouched; only offers arriving meanwhile may need a
   * resend (viewers do that on their own).
   */
  private renew(generation: number, why: string): void {
    if (generation !== this.generation || this.state !== "open") return;
    clearTimeout(this.renewTimer);
    const old = this.client;
    log.debug("renewing the signaling connection", { shard: this.shard, why });
    void this.connect().finally(() => {
      if (old && old !== this.client) closeSignaling(old);
    });
  }

  /** Another page became MASTER of this channel (the most recent one wins, as in KVS): stop, do not fight it. */
  private replaced(generation: number): void {
    if (generation !== this.generation || this.state === "closed") return;
    this.generation++;
    closeSignaling(this.client);
    this.client = undefined;
    this.setState("closed");
    this.host.failed(new RtcError("SIGNALING_FAILED", "Another page took over this broadcast. Close this one, or reload it to take the broadcast back."));
  }

  private dropped(generation: number, error: RtcError): void {
    if (generation !== this.generation || this.state === "closed") return;
    this.generation++;
    clearTimeout(this.renewTimer);
    closeSignaling(this.client);
    this.client = undefined;
    // Viewers that are connected keep their audio: only new offers wait for the reconnect.
    log.warn(`signaling channel ${this.shard} dropped: ${error.message}`);
    this.failedAt ??= Date.now();
    if (!this.everOpened && this.retryCount + 1 === this.host.initialAttempts) {
      // Going live fails now (setChannels rejects) rather than after minutes; a channel added later keeps
      // trying: its listeners wait for it, and the relay may just be refusing a crowd of connects to it.
      this.rejectReady(error);
      this.host.failed(error);
    }
    const delay = this.host.policy.nextRetryDelayMs({ retryCount: this.retryCount, elapsedMs: Date.now() - this.failedAt });
    if (delay === null) {
      this.setState("closed");
      const gaveUp = new RtcError("GAVE_UP", undefined, { cause: error });
      this.rejectReady(gaveUp);
      this.host.failed(gaveUp);
      return;
    }
    this.retryCount++;
    this.setState(this.everOpened ? "reconnecting" : "connecting");
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private wire(client: SignalingClient, generation: number): void {
    const current = () => generation === this.generation && this.client === client;
    client.on("sdpOffer", (offer: RTCSessionDescriptionInit, senderClientId?: string) => {
      if (!current()) return;
      if (!senderClientId) return log.warn("offer without a sender client id; ignored");
      this.onOffer(client, offer, senderClientId);
    });
    client.on("iceCandidate", (candidate: RTCIceCandidateInit, senderClientId?: string) => {
      if (!current() || !senderClientId) return;
      this.peers.get(senderClientId)?.addRemoteCandidate(candidate);
    });
    client.on("statusResponse", (raw: unknown) => {
      const status = readStatus(raw as Record<string, unknown>);
      if (!status || status.success) return;
      log.warn("signaling refused a message", status);
      const clientId = this.answers.get(status.correlationId);
      this.answers.delete(status.correlationId);
      // "No viewer with that client id": it left before our answer reached it.
      if (clientId && status.errorType === "ResourceNotFoundException") this.forget(clientId);
    });
  }

  private onOffer(client: SignalingClient, offer: RTCSessionDescriptionInit, clientId: string): void {
    const previous = this.peers.get(clientId);
    if (previous) {
      // The same viewer offers again (reconnect, new page): the new connection replaces the old one.
      log.debug("viewer re-offered; replacing its connection", { clientId });
      previous.close();
      this.peers.delete(clientId);
    }
    const peer = new ViewerPeer(clientId, this.host.createPeerConnection(this.rtcConfiguration), this.host, {
      answer: (answer) =>
        this.sdpPacer.schedule(() => {
          if (this.client !== client || this.peers.get(clientId) !== peer) return;
          const correlationId = nextCorrelationId("answer");
          if (this.answers.size >= 256) this.answers.delete(this.answers.keys().next().value!);
          this.answers.set(correlationId, clientId);
          client.sendSdpAnswer(answer as RTCSessionDescription, clientId, correlationId);
        }),
      candidate: (candidate) =>
        this.icePacer.schedule(() => {
          if (this.client !== client || this.peers.get(clientId) !== peer) return;
          client.sendIceCandidate(candidate, clientId);
        }),
      changed: () => this.host.changed(),
      gone: () => {
        if (this.peers.get(clientId) === peer) this.forget(clientId);
      },
    });
    this.peers.set(clientId, peer);
    void peer.accept(offer);
  }

  private forget(clientId: string): void {
    const peer = this.peers.get(clientId);
    if (!peer) return;
    peer.close();
    this.peers.delete(clientId);
    this.host.changed();
  }
}

// ---------------------------------------------------------------------------

interface PeerLink {
  answer(answer: RTCSessionDescriptionInit): void;
  candidate(candidate: RTCIceCandidate): void;
  changed(): void;
  gone(): void;
}

/** One viewer's peer connection, send-only audio. */
class ViewerPeer {
  connected = false;
  private closed = false;
  private remoteSet = false;
  private readonly pendingCandidates: RTCIceCandidateInit[] = [];
  private graceTimer?: ReturnType<typeof setTimeout>;

  constructor(
    readonly clientId: string,
    readonly pc: RTCPeerConnection,
    private readonly host: ChannelHost,
    private readonly link: PeerLink,
  ) {
    pc.onicecandidate = (event) => {
      if (event.candidate && !this.closed) link.candidate(event.candidate);
    };
    pc.onconnectionstatechange = () => this.onConnectionState();
  }

  async accept(offer: RTCSessionDescriptionInit): Promise<void> {
    try {
      if (offer.type !== "offer" || typeof offer.sdp !== "string") throw new Error("not an SDP offer");
      // Opus for speech on what this side sends (its encoder follows the remote description).
      await this.pc.setRemoteDescription({ type: "offer", sdp: tuneOpus(offer.sdp) });
      this.remoteSet = true;
      const transceiver = this.pc.getTransceivers().find((t) => t.receiver.track.kind === "audio" && t.currentDirection !== "stopped");
      if (!transceiver) throw new Error("the offer has no audio section");
      transceiver.direction = "sendonly";
      await transceiver.sender.replaceTrack(this.host.track);
      transceiver.sender.setStreams?.(this.host.stream);
      const answer = await this.pc.createAnswer();
      const tuned: RTCSessionDescriptionInit = { type: "answer", sdp: tuneOpus(answer.sdp ?? "") };
      await this.pc.setLocalDescription(tuned);
      if (this.closed) return;
      this.link.answer(this.pc.localDescription?.toJSON() ?? tuned);
      for (const c of this.pendingCandidates.splice(0)) await this.addRemoteCandidate(c);
      await this.capBitrate(transceiver.sender);
    } catch (error) {
      if (this.closed) return;
      log.warn(`could not answer viewer ${this.clientId}`, error);
      this.link.gone();
    }
  }

  async addRemoteCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    if (this.closed) return;
    if (!this.remoteSet) {
      this.pendingCandidates.push(candidate);
      return;
    }
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      log.debug("a remote ICE candidate was not accepted", error);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.graceTimer);
    const was = this.connected;
    this.connected = false;
    this.pc.onicecandidate = null;
    this.pc.onconnectionstatechange = null;
    try {
      this.pc.close();
    } catch {
      // already closed
    }
    if (was) this.link.changed();
  }

  private async capBitrate(sender: RTCRtpSender): Promise<void> {
    try {
      const params = sender.getParameters();
      if (!params.encodings || params.encodings.length === 0) params.encodings = [{}];
      for (const e of params.encodings) e.maxBitrate = SPEECH_MAX_BITRATE;
      await sender.setParameters(params);
    } catch (error) {
      log.debug("could not cap the sender bitrate", error);
    }
  }

  private onConnectionState(): void {
    if (this.closed) return;
    const state = this.pc.connectionState;
    log.debug("viewer connection state", { clientId: this.clientId, state });
    if (state === "connected") {
      clearTimeout(this.graceTimer);
      this.graceTimer = undefined;
      if (!this.connected) {
        this.connected = true;
        this.link.changed();
      }
      return;
    }
    if (state === "failed" || state === "closed") {
      this.link.gone();
      return;
    }
    if (state === "disconnected") {
      // Often a blip (network change); if it lasts, the viewer is gone (it offers again when it comes back).
      this.graceTimer ??= setTimeout(() => {
        if (!this.closed && this.pc.connectionState !== "connected") this.link.gone();
      }, this.host.disconnectGraceMs);
    }
  }
}
