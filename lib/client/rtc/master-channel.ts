import type { SignalingClient } from "amazon-kinesis-video-streams-webrtc";
import type { MediaChannelGrant, SignalingAccess } from "@/lib/core/protocol";
import { SIGNALING_CLOSE_CODES, SIGNALING_SEND_RATES } from "@/lib/core/signaling-constants";
import type { ReconnectPolicy } from "@/lib/client/backoff";
import { RtcError } from "./errors";
import { rtcLogger } from "./log";
import { Pacer } from "./pacer";
import type { SignalingFactory } from "./signaling";
import { closeSignaling, nextCorrelationId, openSignaling, readStatus } from "./signaling-session";
import { watchSdkSocket } from "./sdk-socket";
import { ViewerPeer } from "./viewer-peer";

/**
 * One signaling channel (shard) of the speaker's broadcast, as MASTER: its
 * connection (opened, reconnected with backoff, renewed make-before-break
 * before the 1 h cap or on GO_AWAY, stopped when another page took over),
 * paced answers and candidates, and the viewers' peer connections
 * (viewer-peer.ts) keyed by client id. BroadcastMaster (master.ts) holds one
 * per shard.
 */

const log = rtcLogger("rtc:master");

/** Answers sent per second per signaling connection (SIGNALING_SEND_RATES, lib/core/signaling.ts: under KVS's 5). */
export const SDP_PER_SECOND = SIGNALING_SEND_RATES.sdpPerSecond;
const ICE_PER_SECOND = SIGNALING_SEND_RATES.icePerSecond;
/** A grant this close to expiry is refreshed before a reconnect. */
const GRANT_MARGIN_S = 15;

export type MasterChannelState = "connecting" | "open" | "reconnecting" | "closed";

export interface MasterChannelStatus {
  shard: number;
  channelName: string;
  state: MasterChannelState;
  /** Viewers with a connected peer connection on this channel. */
  peers: number;
}

/** What a channel needs of its BroadcastMaster. */
export interface ChannelHost {
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

export class MasterChannel {
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
  private icePacer = new Pacer(ICE_PER_SECOND);
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
      this.icePacer = new Pacer(ICE_PER_SECOND);
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
          if (closeCode === SIGNALING_CLOSE_CODES.REPLACED) this.replaced(generation);
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
