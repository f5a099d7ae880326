import type { SignalingClient } from "amazon-kinesis-video-streams-webrtc";
import type { MediaChannelMessage } from "@/lib/core/protocol";
import { DefaultReconnectPolicy, TypedEmitter, type ReconnectPolicy } from "@/lib/client/control-channel";
import { RtcError } from "./errors";
import { rtcLogger } from "./log";
import { Pacer } from "./pacer";
import { SIGNALING_SEND_RATES } from "@/lib/core/signaling-constants";
import { createSignaling, type SignalingFactory } from "./signaling";
import { closeSignaling, nextCorrelationId, openSignaling, readStatus } from "./signaling-session";

/**
 * The listener's side of the media: VIEWER on the one channel the control
 * plane assigns (getMediaChannel), one receive-only audio peer connection to
 * the speaker.
 *
 * Event-driven: the page calls start() when the broadcast is live (on
 * `sessionJoined` with `live: true`, or when `broadcastStarted` arrives) and
 * restart() when the speaker comes back; nothing waits for a fixed time or
 * polls. A failed attempt (signaling refused or dropped before the answer,
 * the peer connection failed or stayed disconnected, no answer in time) is
 * retried with exponential backoff and full jitter.
 */

const log = rtcLogger("rtc:viewer");

export type ListenerMediaState = "idle" | "connecting" | "live" | "reconnecting" | "failed";

export interface ListenerConnectionOptions {
  /** getMediaChannel over the joined control channel. */
  requestChannel: () => Promise<MediaChannelMessage>;
  signaling?: SignalingFactory;
  reconnectPolicy?: ReconnectPolicy;
  /** From sending the offer to a connected peer connection, ms (default 10 000). */
  connectTimeoutMs?: number;
  /** How long a live connection may stay "disconnected" before it is rebuilt, ms (default 3 000). */
  disconnectGraceMs?: number;
  /** How long one signaling connect may take, ms (default 8 000). */
  openTimeoutMs?: number;
  /** True for errors not worth retrying (e.g. the session ended): the state becomes "failed". */
  isFatal?: (error: unknown) => boolean;
  createPeerConnection?: (configuration: RTCConfiguration) => RTCPeerConnection;
  random?: () => number;
}

export interface ListenerConnectionEvents {
  stateChanged: (state: ListenerMediaState, previous: ListenerMediaState) => void;
  /** The speaker's audio (undefined when the connection is torn down). */
  stream: (stream: MediaStream | undefined) => void;
  /** An attempt failed (it is retried unless the state became "failed"). */
  error: (error: unknown) => void;
}

/** Offers re-sent while the channel has no master yet (the relay says so; KVS does not). */
const MAX_OFFER_RESENDS = 8;

interface Attempt {
  client?: SignalingClient;
  pc?: RTCPeerConnection;
  watchdog?: ReturnType<typeof setTimeout>;
  grace?: ReturnType<typeof setTimeout>;
  resend?: ReturnType<typeof setTimeout>;
  icePacer: Pacer;
}

export class ListenerConnection extends TypedEmitter<ListenerConnectionEvents> {
  private readonly options: ListenerConnectionOptions;
  private readonly policy: ReconnectPolicy;
  private readonly signaling: SignalingFactory;
  private readonly random: () => number;
  private current?: Attempt;
  private stateValue: ListenerMediaState = "idle";
  private generation = 0;
  private retryCount = 0;
  private failingSince?: number;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private everLive = false;
  private mediaStream?: MediaStream;

  constructor(options: ListenerConnectionOptions) {
    super();
    this.options = options;
    this.random = options.random ?? Math.random;
    this.policy =
      options.reconnectPolicy ?? new DefaultReconnectPolicy({ baseDelayMs: 250, maxDelayMs: 8_000, maxElapsedMs: 10 * 60_000, random: this.random });
    this.signaling = options.signaling ?? createSignaling;
  }

  get state(): ListenerMediaState {
    return this.stateValue;
  }

  get stream(): MediaStream | undefined {
    return this.mediaStream;
  }

  /** The current peer connection (for stats), if any. */
  get peerConnection(): RTCPeerConnection | undefined {
    return this.current?.pc;
  }

  /** Connects now, unless already connecting or live. */
  start(): void {
    if (this.stateValue !== "idle" && this.stateValue !== "failed") return;
    this.retryCount = 0;
    this.failingSince = undefined;
    void this.run();
  }

  /** The speaker came back (a new master has none of our state): offer again now. */
  restart(): void {
    this.teardown();
    this.retryCount = 0;
    this.failingSince = undefined;
    void this.run();
  }

  /**
   * The speaker's broadcast started again. A new speaker page has none of our
   * state: offer again. But when our peer connection still carries audio (the
   * same page announced itself again after its control channel dropped, or
   * after a server restart), tearing it down would only cut the audio: keep it.
   */
  async restartUnlessFlowing(sampleMs = 1_000): Promise<void> {
    const pc = this.current?.pc;
    const generation = this.generation;
    if (this.stateValue === "live" && pc && pc.connectionState === "connected") {
      const before = await inboundAudioPackets(pc);
      await new Promise((resolve) => setTimeout(resolve, sampleMs));
      if (generation !== this.generation || this.current?.pc !== pc) return; // it moved on by itself meanwhile
      const after = await inboundAudioPackets(pc);
      if (pc.connectionState === "connected" && after > before) {
        log.debug("broadcast started again; the audio still flows, keeping the connection");
        return;
      }
    }
    this.restart();
  }

  /** Closes everything; the state goes back to idle. */
  stop(): void {
    this.generation++;
    this.teardown();
    this.everLive = false;
    this.setState("idle");
  }

  // -------------------------------------------------------------------------

  private setState(next: ListenerMediaState): void {
    const previous = this.stateValue;
    if (previous === next) return;
    this.stateValue = next;
    this.emit("stateChanged", next, previous);
  }

  private setStream(stream: MediaStream | undefined): void {
    if (this.mediaStream === stream) return;
    this.mediaStream = stream;
    this.emit("stream", stream);
  }

  private teardown(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const attempt = this.current;
    this.current = undefined;
    if (attempt) {
      clearTimeout(attempt.watchdog);
      clearTimeout(attempt.grace);
      clearTimeout(attempt.resend);
      attempt.icePacer.clear();
      closeSignaling(attempt.client);
      if (attempt.pc) {
        attempt.pc.ontrack = attempt.pc.onicecandidate = attempt.pc.onconnectionstatechange = null;
        try {
          attempt.pc.close();
        } catch {
          // already closed
        }
      }
    }
    this.setStream(undefined);
  }

  private async run(): Promise<void> {
    this.teardown();
    const generation = ++this.generation;
    const attempt: Attempt = { icePacer: new Pacer(SIGNALING_SEND_RATES.icePerSecond) }; // under KVS's 20 ICE messages per second
    this.current = attempt;
    const isCurrent = () => generation === this.generation && this.current === attempt;
    this.setState(this.everLive || this.retryCount > 0 ? "reconnecting" : "connecting");
    try {
      const message = await this.options.requestChannel();
      if (!isCurrent()) return;
      const channel = message.channels[0];
      if (message.type !== "mediaChannel" || message.role !== "VIEWER" || !channel || !message.clientId) {
        throw new RtcError("CHANNEL_CONFIG", "Expected a VIEWER media channel with a client id.");
      }
      const setup = await this.signaling({ access: message.signaling, channel, role: "VIEWER", clientId: message.clientId });
      if (!isCurrent()) return closeSignaling(setup.client);
      const client = setup.client;
      attempt.client = client;
      const pc = (this.options.createPeerConnection ?? ((c) => new RTCPeerConnection(c)))(setup.rtcConfiguration);
      attempt.pc = pc;
      pc.addTransceiver("audio", { direction: "recvonly" });

      pc.ontrack = (event) => {
        if (!isCurrent()) return;
        this.setStream(event.streams[0] ?? new MediaStream([event.track]));
      };
      let offerSent = false;
      const early: RTCIceCandidate[] = [];
      const sendCandidate = (c: RTCIceCandidate) =>
        attempt.icePacer.schedule(() => {
          if (isCurrent()) client.sendIceCandidate(c);
        });
      pc.onicecandidate = (event) => {
        if (!event.candidate || !isCurrent()) return;
        if (offerSent) sendCandidate(event.candidate);
        else early.push(event.candidate);
      };
      pc.onconnectionstatechange = () => this.onPeerState(generation, attempt, pc);

      let remoteSet = false;
      const remoteCandidates: RTCIceCandidateInit[] = [];
      client.on("sdpAnswer", (answer: RTCSessionDescriptionInit) => {
        if (!isCurrent() || remoteSet || pc.signalingState !== "have-local-offer") return;
        clearTimeout(attempt.resend);
        pc.setRemoteDescription(answer)
          .then(async () => {
            remoteSet = true;
            for (const c of remoteCandidates.splice(0)) await pc.addIceCandidate(c).catch(() => undefined);
          })
          .catch((error: unknown) => this.fail(generation, new RtcError("PEER_FAILED", "The speaker's answer could not be applied.", { cause: error })));
      });
      client.on("iceCandidate", (candidate: RTCIceCandidateInit) => {
        if (!isCurrent()) return;
        if (remoteSet) void pc.addIceCandidate(candidate).catch(() => undefined);
        else remoteCandidates.push(candidate);
      });

      // Gather while the signaling connection opens.
      const opened = openSignaling(client, this.options.openTimeoutMs ?? 8_000);
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      await opened;
      if (!isCurrent()) return;
      client.on("close", () => this.signalingGone(generation));
      client.on("error", () => this.signalingGone(generation));

      let resends = 0;
      let offerId = "";
      const armWatchdog = (extraMs: number) => {
        clearTimeout(attempt.watchdog);
        attempt.watchdog = setTimeout(
          () => this.fail(generation, new RtcError("PEER_FAILED", "The speaker's audio did not connect in time.")),
          (this.options.connectTimeoutMs ?? 10_000) + extraMs,
        );
      };
      const sendOffer = () => {
        if (!isCurrent()) return;
        offerId = nextCorrelationId("offer");
        client.sendSdpOffer(offer as RTCSessionDescription, undefined, offerId);
      };
      client.on("statusResponse", (raw: unknown) => {
        const status = readStatus(raw as Record<string, unknown>);
        if (!isCurrent() || !status || status.success || status.correlationId !== offerId) return;
        if (status.errorType === "ResourceNotFoundException" && resends < MAX_OFFER_RESENDS && !remoteSet) {
          // The master of this channel is not connected yet (a new shard): offer again shortly.
          const delay = Math.round((100 * 2 ** resends) * (0.5 + this.random()));
          resends++;
          log.debug("no master on the channel yet; offering again", { delay });
          attempt.resend = setTimeout(sendOffer, delay);
          armWatchdog(delay); // the relay keeps answering: the attempt is alive
          return;
        }
        this.fail(generation, new RtcError("SIGNALING_FAILED", `The offer was refused: ${status.errorType ?? "error"} ${status.description ?? ""}`.trim()));
      });
      sendOffer();
      offerSent = true;
      for (const c of early.splice(0)) sendCandidate(c);
      armWatchdog(0);
    } catch (error) {
      this.fail(generation, error);
    }
  }

  private signalingGone(generation: number): void {
    if (generation !== this.generation) return;
    // Once the audio flows the signaling connection is no longer needed (KVS closes idle ones).
    if (this.stateValue === "live") {
      log.debug("signaling closed while live; the audio continues");
      return;
    }
    this.fail(generation, new RtcError("SIGNALING_FAILED", "The audio relay connection closed."));
  }

  private onPeerState(generation: number, attempt: Attempt, pc: RTCPeerConnection): void {
    if (generation !== this.generation || this.current !== attempt) return;
    const state = pc.connectionState;
    log.debug("peer connection state", state);
    if (state === "connected") {
      clearTimeout(attempt.watchdog);
      clearTimeout(attempt.grace);
      attempt.watchdog = attempt.grace = undefined;
      this.retryCount = 0;
      this.failingSince = undefined;
      this.everLive = true;
      this.setState("live");
    } else if (state === "failed") {
      this.fail(generation, new RtcError("PEER_FAILED"));
    } else if (state === "disconnected" && this.stateValue === "live") {
      this.setState("reconnecting");
      attempt.grace ??= setTimeout(
        () => this.fail(generation, new RtcError("PEER_FAILED", "The audio connection was interrupted.")),
        this.options.disconnectGraceMs ?? 3_000,
      );
    }
  }

  private fail(generation: number, error: unknown): void {
    if (generation !== this.generation || this.stateValue === "idle") return;
    this.generation++;
    this.teardown();
    log.warn(`audio connection attempt failed: ${error instanceof Error ? error.message : String(error)}`);
    this.emit("error", error);
    if (this.options.isFatal?.(error)) {
      this.setState("failed");
      return;
    }
    this.failingSince ??= Date.now();
    const delay = this.policy.nextRetryDelayMs({ retryCount: this.retryCount, elapsedMs: Date.now() - this.failingSince });
    if (delay === null) {
      this.setState("failed");
      return;
    }
    this.retryCount++;
    this.setState("reconnecting");
    this.retryTimer = setTimeout(() => void this.run(), delay);
  }
}

/** inbound-rtp audio packets received on a peer connection (0 when stats are unavailable). */
async function inboundAudioPackets(pc: RTCPeerConnection): Promise<number> {
  try {
    let total = 0;
    (await pc.getStats()).forEach((r: { type?: string; kind?: string; packetsReceived?: number }) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") total += r.packetsReceived ?? 0;
    });
    return total;
  } catch {
    return 0;
  }
}
