import type { MediaChannelMessage, ServerMessage } from "../../core/protocol";
import type { ReconnectPolicy } from "../backoff";
import { ControlChannel, type WebSocketLike } from "../control-channel";
import { describeError } from "../describe-error";
import { ControlChannelError, isSessionGone } from "../errors";
import { RtcError } from "../rtc/errors";
import { SpeakerRecognition, type SpeakerRecognitionOptions } from "../speech/recognition";
import { controlBaseUrl, type PageLocation } from "../ws-url";
import { SpeakerLiveAudio, type LiveAudioDeps } from "./speaker-live";
import {
  INITIAL_SPEAKER_STATE,
  NO_COUNTS,
  broadcastStateOf,
  countsOf,
  trackSilence,
  withDerived,
  type BroadcastAction,
  type SpeakerSessionInfo,
  type SpeakerState,
} from "./speaker-state";

/**
 * The speaker's session, framework-free (no React): it owns the control
 * channel (a fresh speaker token for each connect; with the session's id in
 * the query the server re-attaches the connection as its speaker), the
 * re-join after a reconnect (the status again; the broadcast re-announced
 * when the drop stopped it), the session's life (create, broadcast actions,
 * end), the live audio (speaker-live.ts) and publishes one typed state
 * (subscribe / getSnapshot) that app/speaker reads through useSession.
 *
 * Every speaker control action is one method here (recognition's two,
 * getRecognizer and submitTranscript, are SpeakerRecognition's).
 */

export interface CreateSessionInput {
  title: string;
  sourceLanguage: SpeakerSessionInfo["sourceLanguage"];
  targetLanguages: SpeakerSessionInfo["targetLanguages"];
  recognizer: SpeakerSessionInfo["recognizer"];
}

export interface SpeakerSessionOptions {
  /** Configured control URL; undefined: this host's /ws. */
  wsUrl?: string;
  /** The control channel's connection cap, s (EARSHOT_WS_MAX_CONNECTION_SECONDS; API Gateway: 2 h): replaced before. */
  maxConnectionSeconds?: number;
  /** The signaling connection's cap, s (KVS: 1 h): the master renews before. */
  signalingMaxConnectionSeconds?: number;
  /** A live session of this speaker to re-attach to (after a reload). */
  resume?: SpeakerSessionInfo;
  /** The sign-in expired (the token endpoint said 401): the page goes to /signin. */
  onSignedOut?: () => void;
  /** Asks for a fresh speaker token (default: fetch GET /api/speaker/token); the reply is read here. */
  fetchToken?: () => Promise<TokenResponse>;
  /** Puts the session in the address bar, or takes it out (default: history.replaceState), so a reload re-attaches. */
  showSessionInUrl?: (sessionId: string | undefined) => void;
  createWebSocket?: (url: string) => WebSocketLike;
  reconnectPolicy?: ReconnectPolicy;
  location?: PageLocation;
  /** The live audio's microphone and WebRTC (tests pass fakes). */
  live?: Pick<LiveAudioDeps, "openMicrophone" | "loadMaster" | "resumeAudio">;
}

/** The part of a fetch Response the token request reads. */
export interface TokenResponse {
  status: number;
  ok: boolean;
  json(): Promise<unknown>;
}

const fetchSpeakerToken = (): Promise<TokenResponse> => fetch("/api/speaker/token", { cache: "no-store" });

/** Puts the session in the address bar (or takes it out) so a reload re-attaches; no navigation. */
function setSessionInUrl(sessionId: string | undefined): void {
  const url = new URL(window.location.href);
  if (sessionId) url.searchParams.set("session", sessionId);
  else url.searchParams.delete("session");
  window.history.replaceState(null, "", `${url.pathname}${url.search}`);
}

type Listener = () => void;

export class SpeakerSession {
  private readonly options: SpeakerSessionOptions;
  private readonly channel: ControlChannel;
  private readonly audio: SpeakerLiveAudio;
  private readonly listeners = new Set<Listener>();
  private state: SpeakerState;
  /** The session the channel speaks for; reconnects come back with it (undefined once it ended). */
  private sessionId?: string;
  private signedOut = false;
  /** Bumped by start() and stop(): callbacks of an earlier start do nothing. */
  private run = 0;
  private offChannel: (() => void)[] = [];
  /** The inputs of the re-announce check, last time it ran. */
  private restoreKey = "";

  constructor(options: SpeakerSessionOptions) {
    this.options = options;
    this.sessionId = options.resume?.sessionId;
    // Inert until start(): the URL is read when it connects (in the browser).
    this.channel = new ControlChannel({
      url: () => controlBaseUrl(options.wsUrl, options.location ?? window.location),
      // With a sessionId the server re-attaches this connection as the session's speaker.
      query: async () => ({ token: await this.token(), sessionId: this.sessionId }),
      // Signed out elsewhere: stop, the page is on its way to /signin.
      shouldReconnect: () => !this.signedOut,
      maxConnectionMs: options.maxConnectionSeconds === undefined ? undefined : options.maxConnectionSeconds * 1000,
      createWebSocket: options.createWebSocket,
      reconnectPolicy: options.reconnectPolicy,
    });
    this.audio = new SpeakerLiveAudio({
      ...options.live,
      signalingMaxConnectionSeconds: options.signalingMaxConnectionSeconds,
      requestChannels: () => this.requestMasterChannels(),
      announce: () => this.startBroadcast(),
      withdraw: () => this.stopBroadcast(),
      changed: (live) => this.update({ live }),
    });
    const resume = options.resume;
    this.state = withDerived({
      ...INITIAL_SPEAKER_STATE,
      session: resume,
      broadcast: resume ? { status: "active", muted: false, live: false } : undefined,
    });
  }

  // -------------------------------------------------------------------------
  // The store

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): SpeakerState => this.state;

  private update(patch: Partial<SpeakerState>): void {
    const next = withDerived({ ...this.state, ...patch });
    this.state = next;
    const { muted, paused } = trackSilence(next.broadcast, next.busy);
    this.audio.setSilence(muted, paused);
    this.maybeRestore();
    for (const l of [...this.listeners]) l();
  }

  // -------------------------------------------------------------------------
  // Connection and re-join

  /** Opens the control channel (the page calls it on mount; again after stop()). */
  start(): void {
    const run = ++this.run;
    this.offChannel = [
      this.channel.on("stateChanged", (connection) => this.update({ connection })),
      this.channel.on("message", (message) => this.onMessage(message)),
      this.channel.on("reconnected", () => void this.refreshStatus()),
    ];
    this.channel.connect().then(
      () => {
        if (run === this.run) void this.refreshStatus();
      },
      (e: unknown) => {
        if (run === this.run) this.connectFailed(e);
      },
    );
  }

  /** Closes the channel, the peer connections and the microphone (the page unmounts). */
  stop(): void {
    this.run++;
    for (const off of this.offChannel.splice(0)) off();
    this.channel.close();
    this.audio.reset();
  }

  /** After the first connect failed: Try again. */
  retryConnect(): void {
    this.update({ connectError: undefined });
    this.channel.connect().then(
      () => this.refreshStatus(),
      (e: unknown) => this.connectFailed(e),
    );
  }

  private connectFailed(e: unknown): void {
    if (this.channel.state === "closed" && !this.signedOut) this.update({ connectError: describeError(e) });
  }

  /** A fresh 15-minute speaker token for each (re)connect (app/api/speaker/token). */
  private async token(): Promise<string> {
    const response = await (this.options.fetchToken ?? fetchSpeakerToken)();
    if (response.status === 401) {
      this.signedOut = true;
      this.options.onSignedOut?.();
      throw new ControlChannelError("UNAUTHORIZED", "Your sign-in has expired.");
    }
    if (!response.ok) throw new ControlChannelError("INTERNAL_ERROR", "Could not get a speaker token.");
    return ((await response.json()) as { token: string }).token;
  }

  /** The status again, after each (re)connect: the counts and whether the broadcast is still on. */
  private async refreshStatus(): Promise<void> {
    if (!this.sessionId) return;
    try {
      const status = await this.channel.request({ action: "getSessionStatus" });
      this.update({ counts: countsOf(status), broadcast: status.broadcastState });
    } catch (e) {
      this.failed(e);
    }
  }

  /** After a drop the server told listeners the broadcast stopped: when live, re-announce it (once per change). */
  private maybeRestore(): void {
    const { live, connection, broadcast } = this.state;
    const key = `${live.phase}|${connection === "open"}|${broadcast?.live}`;
    if (key === this.restoreKey) return;
    this.restoreKey = key;
    if (live.phase === "live" && connection === "open" && broadcast && !broadcast.live) this.audio.restore();
  }

  // -------------------------------------------------------------------------
  // Pushes

  private onMessage(message: ServerMessage): void {
    if (message.type === "mediaChannel") {
      this.audio.onMediaChannel(message);
      return;
    }
    if ("sessionId" in message && message.sessionId !== this.sessionId) return; // an older session's news
    if (message.type === "sessionStatus") {
      this.update({ counts: countsOf(message), broadcast: message.broadcastState });
      return;
    }
    const broadcast = broadcastStateOf(message);
    if (broadcast) this.update({ broadcast });
    else if (message.type === "sessionEnded") this.markEnded();
    else if (message.type === "error") this.update({ error: message.message });
  }

  // -------------------------------------------------------------------------
  // Control actions: one method each

  async createSession(input: CreateSessionInput): Promise<void> {
    this.update({ busy: "createSession", error: undefined });
    try {
      const created = await this.channel.request({
        action: "createSession",
        sourceLanguage: input.sourceLanguage,
        title: input.title || undefined,
        targetLanguages: input.targetLanguages,
        recognizer: input.recognizer,
      });
      this.sessionId = created.sessionId;
      this.audio.reset();
      this.update({
        session: {
          sessionId: created.sessionId,
          title: created.title,
          sourceLanguage: created.sourceLanguage,
          joinUrl: created.joinUrl,
          targetLanguages: created.targetLanguages,
          recognizer: created.recognizer,
          offers: created.offers,
        },
        broadcast: created.broadcastState,
        counts: NO_COUNTS,
        ended: undefined,
      });
      this.showSessionInUrl(created.sessionId);
    } catch (e) {
      this.update({ error: describeError(e) });
    } finally {
      this.update({ busy: undefined });
    }
  }

  /** Pause, resume, mute, unmute. */
  async broadcastAction(action: BroadcastAction): Promise<void> {
    this.update({ busy: action, error: undefined });
    try {
      const reply = await this.channel.request({ action });
      this.update({ broadcast: reply.broadcastState });
    } catch (e) {
      this.failed(e);
    } finally {
      this.update({ busy: undefined });
    }
  }

  async endSession(): Promise<void> {
    this.update({ busy: "endSession", error: undefined });
    try {
      await this.channel.request({ action: "endSession" });
      this.markEnded();
    } catch (e) {
      this.failed(e);
    } finally {
      this.update({ busy: undefined });
    }
  }

  /** Go live (from the click: the level meter's AudioContext starts in it). */
  goLive(): Promise<void> {
    return this.audio.goLive();
  }

  /** Stop broadcast (the session stays). */
  stopLive(): Promise<void> {
    return this.audio.stop();
  }

  private async requestMasterChannels(): Promise<MediaChannelMessage> {
    const reply = await this.channel.request({ action: "getMediaChannel" });
    if (reply.type !== "mediaChannel" || reply.role !== "MASTER") throw new RtcError("CHANNEL_CONFIG", "The server did not hand out the speaker's media channels.");
    return reply;
  }

  private async startBroadcast(): Promise<void> {
    await this.channel.request({ action: "startBroadcast" });
  }

  private async stopBroadcast(): Promise<void> {
    await this.channel.request({ action: "stopBroadcast" });
  }

  /** The session's recognition (getRecognizer, submitTranscript) on this channel; LiveTranslation makes one per session. */
  recognition(options: Omit<SpeakerRecognitionOptions, "channel">): SpeakerRecognition {
    return new SpeakerRecognition({ ...options, channel: this.channel });
  }

  // -------------------------------------------------------------------------

  /** A request failed: the session is gone (ended elsewhere, expired) or the error is shown. */
  private failed(e: unknown): void {
    if (isSessionGone(e)) this.markEnded();
    else this.update({ error: describeError(e) });
  }

  private markEnded(): void {
    const sessionId = this.sessionId;
    if (!sessionId) return;
    this.sessionId = undefined; // reconnects from now on come back without a session
    this.audio.reset();
    this.update({ ended: { sessionId, listeners: this.state.counts.total }, session: undefined, broadcast: undefined });
    this.showSessionInUrl(undefined);
  }

  private showSessionInUrl(sessionId: string | undefined): void {
    (this.options.showSessionInUrl ?? setSessionInUrl)(sessionId);
  }
}
