import { EventEmitter } from "node:events";
import type { SignalingClient } from "amazon-kinesis-video-streams-webrtc";
import type { MediaChannelGrant, MediaChannelMessage } from "@/lib/core/protocol";
import type { SignalingFactory, SignalingTarget } from "@/lib/client/rtc/signaling";

/**
 * Stand-ins for the browser's WebRTC objects and the SDK's SignalingClient,
 * for the state machines in lib/client/rtc (master.ts, viewer.ts). The real
 * ones are exercised end to end in tests/e2e (Chromium).
 */

export const CHROME_OFFER = [
  "v=0",
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
  "c=IN IP4 0.0.0.0",
  "a=mid:0",
  "a=recvonly",
  "a=rtpmap:111 opus/48000/2",
  "a=rtcp-fb:111 transport-cc",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "a=rtpmap:63 red/48000/2",
  "a=fmtp:63 111/111",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:0 PCMU/8000",
  "",
].join("\r\n");

export class FakeTrack {
  enabled = true;
  readonly kind = "audio";
  stopped = false;
  stop() {
    this.stopped = true;
  }
}

export class FakeStream {
  constructor(readonly tracks: FakeTrack[] = [new FakeTrack()]) {}
  getAudioTracks() {
    return this.tracks;
  }
  getTracks() {
    return this.tracks;
  }
  asMediaStream(): MediaStream {
    return this as unknown as MediaStream;
  }
}

/** The sender's DTLS transport: its state turns "closed" when the other side closed its peer connection. */
export class FakeDtlsTransport extends EventTarget {
  state: RTCDtlsTransportState = "connected";
  setState(state: RTCDtlsTransportState) {
    this.state = state;
    this.dispatchEvent(new Event("statechange"));
  }
}

export class FakeSender {
  track: unknown = null;
  readonly transport = new FakeDtlsTransport();
  params: RTCRtpSendParameters = { encodings: [{}], transactionId: "t", codecs: [], headerExtensions: [], rtcp: {} } as RTCRtpSendParameters;
  async replaceTrack(track: unknown) {
    this.track = track;
  }
  setStreams() {}
  getParameters() {
    return this.params;
  }
  async setParameters(p: RTCRtpSendParameters) {
    this.params = p;
    progress();
  }
}

export class FakeTransceiver {
  direction: RTCRtpTransceiverDirection;
  currentDirection: RTCRtpTransceiverDirection | null = null;
  readonly sender = new FakeSender();
  readonly receiver = { track: { kind: "audio" } };
  constructor(direction: RTCRtpTransceiverDirection) {
    this.direction = direction;
  }
}

export class FakePeerConnection {
  static created: FakePeerConnection[] = [];
  readonly transceivers: FakeTransceiver[] = [];
  readonly addedCandidates: RTCIceCandidateInit[] = [];
  connectionState: RTCPeerConnectionState = "new";
  signalingState: RTCSignalingState = "stable";
  localDescription: { type: string; sdp: string; toJSON(): RTCSessionDescriptionInit } | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  closed = false;
  onicecandidate: ((e: { candidate: unknown }) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  ontrack: ((e: { streams: unknown[]; track: unknown }) => void) | null = null;
  createAnswerCalls = 0;

  constructor(readonly configuration: RTCConfiguration) {
    FakePeerConnection.created.push(this);
    progress();
  }

  addTransceiver(_kind: string, init: { direction: RTCRtpTransceiverDirection }) {
    const t = new FakeTransceiver(init.direction);
    this.transceivers.push(t);
    return t;
  }
  getTransceivers() {
    return this.transceivers;
  }
  async setRemoteDescription(desc: RTCSessionDescriptionInit) {
    this.remoteDescription = desc;
    if (desc.type === "offer") {
      this.signalingState = "have-remote-offer";
      if (this.transceivers.length === 0) this.transceivers.push(new FakeTransceiver("recvonly"));
    } else this.signalingState = "stable";
    progress();
  }
  async createOffer(): Promise<RTCSessionDescriptionInit> {
    return { type: "offer", sdp: CHROME_OFFER };
  }
  async createAnswer(): Promise<RTCSessionDescriptionInit> {
    this.createAnswerCalls++;
    return { type: "answer", sdp: CHROME_OFFER.replace("a=recvonly", "a=sendonly") };
  }
  async setLocalDescription(desc: RTCSessionDescriptionInit) {
    const d = { type: desc.type!, sdp: desc.sdp ?? "" };
    this.localDescription = { ...d, toJSON: () => ({ type: d.type as RTCSdpType, sdp: d.sdp }) };
    this.signalingState = desc.type === "offer" ? "have-local-offer" : "stable";
    progress();
  }
  async addIceCandidate(c: RTCIceCandidateInit) {
    this.addedCandidates.push(c);
    progress();
  }
  getSenders() {
    return this.transceivers.map((t) => t.sender);
  }
  close() {
    this.closed = true;
    this.connectionState = "closed";
    this.signalingState = "closed";
    progress();
  }
  // --- test controls
  emitCandidate(candidate: string) {
    this.onicecandidate?.({ candidate: { candidate, sdpMid: "0", sdpMLineIndex: 0 } });
  }
  setState(state: RTCPeerConnectionState) {
    this.connectionState = state;
    this.onconnectionstatechange?.();
  }
  emitTrack(stream: unknown) {
    this.ontrack?.({ streams: [stream], track: {} });
  }
}

export interface Sent {
  kind: "offer" | "answer" | "ice";
  payload: unknown;
  recipient?: string;
  correlationId?: string;
}

/** The SDK's SignalingClient as the code uses it: an EventEmitter with open/close/send*. */
export class FakeSignalingClient extends EventEmitter {
  readonly sent: Sent[] = [];
  opened = false;
  closed = false;
  /** The SDK's private socket, as far as master.ts reads it (for the close code). */
  readonly websocket = {
    closeListeners: [] as ((e: { code: number }) => void)[],
    addEventListener(type: string, fn: (e: { code: number }) => void) {
      if (type === "close") this.closeListeners.push(fn);
    },
  };
  constructor(
    readonly target: SignalingTarget,
    /** What happens on open(): "open" (default), "error" (refused), or "manual" (the test decides). */
    private readonly onOpen: "open" | "error" | "manual" = "open",
  ) {
    super();
  }
  open() {
    queueMicrotask(() => {
      if (this.onOpen === "open") {
        this.opened = true;
        this.emit("open");
      } else if (this.onOpen === "error") {
        this.emit("error", new Error("refused"));
        this.emit("close");
      }
      progress();
    });
  }
  close() {
    this.closed = true;
    progress();
  }
  sendSdpOffer(payload: unknown, recipient?: string, correlationId?: string) {
    this.sent.push({ kind: "offer", payload, recipient, correlationId });
    progress();
  }
  sendSdpAnswer(payload: unknown, recipient?: string, correlationId?: string) {
    this.sent.push({ kind: "answer", payload, recipient, correlationId });
    progress();
  }
  sendIceCandidate(payload: unknown, recipient?: string) {
    this.sent.push({ kind: "ice", payload, recipient });
    progress();
  }
  /** The relay closes the socket: the SDK emits "close" first, then later socket listeners see the code. */
  drop(code = 1006) {
    this.emit("close");
    for (const fn of this.websocket.closeListeners) fn({ code });
  }
  ofKind(kind: Sent["kind"]) {
    return this.sent.filter((s) => s.kind === kind);
  }
}

/** A signaling factory handing out fake clients; `behaviour` decides how each open() goes. */
export function fakeSignaling(behaviour: () => "open" | "error" | "manual" = () => "open") {
  const clients: FakeSignalingClient[] = [];
  const factory: SignalingFactory = async (target) => {
    const client = new FakeSignalingClient(target, behaviour());
    clients.push(client);
    progress();
    return { client: client as unknown as SignalingClient, rtcConfiguration: { iceServers: [] } };
  };
  return { factory, clients };
}

export function grant(shard: number, sessionId = "pure-psalm-481"): MediaChannelGrant {
  const name = `earshot-${sessionId}-${shard}`;
  return {
    shard,
    channelName: name,
    channelArn: `arn:aws:kinesisvideo:local:000000000000:channel/${name}/0`,
    grant: `grant-${shard}`,
    grantExpiresAt: Math.floor(Date.now() / 1000) + 300,
  };
}

export function masterChannels(shards: number): MediaChannelMessage {
  return {
    type: "mediaChannel",
    sessionId: "pure-psalm-481",
    role: "MASTER",
    channels: Array.from({ length: shards }, (_, i) => grant(i)),
    signaling: { kind: "embedded", endpoint: "ws://127.0.0.1:3000/kvs" },
  };
}

export function viewerChannel(clientId = "v-1", shard = 0): MediaChannelMessage {
  return {
    type: "mediaChannel",
    sessionId: "pure-psalm-481",
    role: "VIEWER",
    clientId,
    channels: [grant(shard)],
    signaling: { kind: "embedded", endpoint: "ws://127.0.0.1:3000/kvs" },
  };
}

// ---------------------------------------------------------------------------
// Waiting for what the code under test does, without counting microtasks

/** The real timers, taken before a test installs fake ones. */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const waiters = new Set<() => void>();

/** Every fake calls this when it changes (a message sent, a description set, a connection made or closed). */
export function progress(): void {
  for (const waiter of [...waiters]) waiter();
}

/**
 * Resolves once `check()` holds: at once, or at the first change a fake
 * reports after which it holds. Rejects naming `what` when it still does not
 * hold after `timeoutMs` of real time (the fakes never wait on real time).
 */
export function until(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      waiters.delete(waiter);
      realClearTimeout(timer);
    };
    const waiter = () => {
      if (!check()) return;
      done();
      resolve();
    };
    const timer = realSetTimeout(() => {
      done();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    waiters.add(waiter);
  });
}
