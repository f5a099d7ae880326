import type { LanguageCode } from "../../core/languages";
import type { MediaChannelMessage, ServerMessage } from "../../core/protocol";
import type { LanguageOffer } from "../../core/speech";
import { ControlChannel, ControlChannelError, UNJOINED_CLOSE_CODE, type WebSocketLike } from "../control-channel";
import { controlBaseUrl } from "../ws-url";
import { describeError } from "../describe-error";
import { SpeechPlayer } from "../media/speech-player";
import { playbackElement } from "../media/playback";
import {
  browserVoice,
  defaultSessionIsOpen,
  elementOutput,
  type AudioOutput,
  type DeviceVoice,
  type MediaConnection,
  type MediaModule,
} from "./listener-platform";
import {
  DUCKED_GAIN,
  EMPTY_CAPTIONS,
  applyCaption,
  effectiveMode,
  isSessionGone,
  modesFor,
  needsOriginal,
  offerFor,
  statusOf,
  wantsSpeech,
  type ListenMode,
  type ListenPhase,
  type ListenerState,
} from "./listener-state";

/**
 * The listener's session, framework-free (no React, no DOM beyond the audio
 * element and Web Audio): it owns the control channel (opened, and with
 * connectAheadSeconds joined and the audio connected, before the Listen tap,
 * so the tap only starts playback), the re-join with the tab's clientKey,
 * the broadcast state, the media connection (WebRTC only when the mode needs
 * the speaker's own voice: translation-only listeners open no peer connection
 * and hold no media slot), the caption lines, the translated-speech player,
 * language and mode changes (from the next segment, without reconnecting),
 * and publishes one typed state (subscribe / getSnapshot).
 *
 * The media module (the WebRTC viewer and the KVS SDK) is loaded through
 * `loadMedia`, only when a mode needs it.
 *
 * Why one file of this size: it is the one object the listener page's view
 * talks to, and its parts (the tap's join, the re-join, pushes, language and
 * mode switches, the media connection) all read and write the same state
 * and the same channel, in an order that matters for the join's speed. The
 * pure rules (modes, captions, status) and the state's type live in
 * listener-state.ts, the browser's parts (audio element, voice, clientKey)
 * in listener-platform.ts, the connection in rtc/viewer.ts, playback in
 * media/.
 */

export interface ListenerSessionInfo {
  sessionId: string;
  title: string;
  sourceLanguage: LanguageCode;
  listenerCount: number;
  offers: LanguageOffer[];
  /** The speaker's media was up when the page was rendered (until the join's reply says how it is now). */
  live?: boolean;
}

export interface ListenerSessionOptions {
  session: ListenerSessionInfo;
  language: LanguageCode;
  /** Configured control URL; undefined: this host's /ws. */
  wsUrl?: string;
  maxConnectionSeconds?: number;
  loadMedia: () => Promise<MediaModule>;
  /**
   * Join and connect the audio before the Listen tap (prepare), for this long; the tap then only starts playback.
   * A page not tapped by then closes its connections. 0 or absent: nothing before the tap.
   */
  connectAheadSeconds?: number;
  /** Languages the device can speak (speechSynthesis voices); empty where there are none. */
  deviceVoices?: () => readonly string[];
  /** For the re-join: this tab's key for the session (see clientKeyFor), asked for at each join. */
  clientKey: () => string;
  /** Whether the session can still be listened to (GET /api/sessions/{id}). */
  sessionIsOpen?: (sessionId: string) => Promise<boolean>;
  createWebSocket?: (url: string) => WebSocketLike;
  location?: { protocol: string; host: string };
  speechPlayer?: SpeechPlayer;
  /** Plays the original (default: the page's one <audio> element). */
  audio?: AudioOutput;
  /** Reads aloud captions with the device voice (default: speechSynthesis). */
  speak?: DeviceVoice;
  /** Performance marks for the join benchmark (default: performance.mark). */
  mark?: (name: string) => void;
}

type Listener = () => void;

export class ListenerSession {
  private readonly options: ListenerSessionOptions;
  private readonly info: ListenerSessionInfo;
  private readonly player: SpeechPlayer;
  private readonly audio: AudioOutput;
  private readonly voice: DeviceVoice;
  private readonly listeners = new Set<Listener>();
  private state: ListenerState;
  private chosenMode?: ListenMode;
  private channel?: ControlChannel;
  private media?: MediaConnection;
  private mediaLoad?: Promise<MediaModule>;
  private mediaPrefetch?: Promise<MediaChannelMessage | undefined>;
  /** The tap's join until its reply (the media connection, started beside it, asks for its grant after it). */
  private joining?: Promise<void>;
  /** The join made before the tap (connectAheadSeconds), until the tap takes it or its time runs out. */
  private ahead?: { joined: Promise<void>; timer: ReturnType<typeof setTimeout> };
  /** What the server has this listener joined as (the tap corrects a join made before it). */
  private joinedAs?: { language: LanguageCode; speech: boolean };
  /** broadcastStarted pushes seen; the viewer offers again on a new one. */
  private starts = 0;
  private startedFor?: number;
  private disposed = false;

  constructor(options: ListenerSessionOptions) {
    this.options = options;
    this.info = options.session;
    this.audio = options.audio ?? elementOutput;
    this.voice = options.speak ?? browserVoice;
    this.player =
      options.speechPlayer ??
      new SpeechPlayer({
        onSpeaking: (seq) => this.update({ speaking: seq }),
      });
    const offer = offerFor(this.info.offers, options.language);
    const modes = modesFor(offer, this.hasDeviceVoice(options.language));
    const mode = effectiveMode(offer, undefined);
    this.state = this.withStatus({
      phase: "ready",
      connection: "closed",
      listenerCount: this.info.listenerCount,
      language: options.language,
      offers: this.info.offers,
      offer,
      modes,
      mode,
      media: "idle",
      audioBlocked: false,
      captions: EMPTY_CAPTIONS,
      volume: 1,
      muted: false,
      switching: false,
    } as ListenerState);
  }

  // -------------------------------------------------------------------------
  // The store

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): ListenerState => this.state;

  /** The speech player (its output level, what it played): for the view and tests. */
  get speech(): SpeechPlayer {
    return this.player;
  }

  private withStatus(s: ListenerState): ListenerState {
    return { ...s, status: statusOf(s) };
  }

  private update(patch: Partial<ListenerState>): void {
    if (this.disposed) return;
    this.state = this.withStatus({ ...this.state, ...patch });
    for (const l of [...this.listeners]) l();
  }

  private mark(name: string): void {
    if (this.options.mark) this.options.mark(name);
    else if (typeof performance !== "undefined" && typeof performance.mark === "function") performance.mark(`earshot:${name}`);
  }

  private hasDeviceVoice(language: LanguageCode): boolean {
    return (this.options.deviceVoices?.() ?? []).some((l) => l.toLowerCase().startsWith(language));
  }

  // -------------------------------------------------------------------------
  // Before the tap

  /**
   * Runs on page load, before the tap. With connectAheadSeconds it joins
   * (without the server's speech: nothing plays yet) and, when the mode needs
   * the original and the speaker is live, connects the audio, silent: the tap
   * then only starts playback. A phone's join takes it 1-2 s of CPU and round
   * trips (docs/BENCHMARKS.md), which this moves into the time the person
   * takes to read the page and tap. The listener is counted from now; a page
   * not tapped within connectAheadSeconds closes its connections and frees
   * its media slot (the tap then joins as below). Without it, it only opens
   * the control channel, and the listener is counted from the tap.
   */
  prepare(): void {
    const seconds = this.options.connectAheadSeconds ?? 0;
    if (seconds <= 0 || this.ahead || this.state.phase !== "ready" || this.disposed) {
      void this.ensureChannel().catch(() => undefined);
      return;
    }
    if (needsOriginal(this.state.mode)) void this.loadMedia().catch(() => undefined);
    const joined = this.ensureChannel().then((ch) => this.join(ch, true, false));
    const ahead = { joined, timer: setTimeout(() => this.releaseAhead(ahead), seconds * 1000) };
    this.ahead = ahead;
    this.trackJoining(joined);
    joined.then(
      () => {
        if (this.ahead === ahead) this.syncMedia();
      },
      (error: unknown) => {
        if (this.ahead !== ahead) return;
        this.dropAhead(); // the tap joins afresh
        if (isSessionGone(error)) this.finish("ended"); // said at once, not at the tap
      },
    );
    this.syncMedia();
  }

  /** The join before the tap is over (its time ran out, it failed, the channel went): its audio connection goes with it. */
  private dropAhead(): void {
    const ahead = this.ahead;
    if (!ahead) return;
    this.ahead = undefined;
    clearTimeout(ahead.timer);
    if (this.state.phase === "ready") {
      this.joinedAs = undefined;
      this.mediaPrefetch = undefined;
      this.stopMedia();
    }
  }

  /** Nobody tapped within connectAheadSeconds: the channel closes (the server counts the listener out) and the media slot is freed. */
  private releaseAhead(ahead: NonNullable<ListenerSession["ahead"]>): void {
    if (this.ahead !== ahead || this.state.phase !== "ready") return;
    this.dropAhead();
    const ch = this.channel;
    this.channel = undefined;
    ch?.close();
    this.update({ connection: "closed" });
  }

  private trackJoining(joined: Promise<void>): void {
    this.joining = joined;
    void joined
      .finally(() => {
        if (this.joining === joined) this.joining = undefined;
      })
      .catch(() => undefined);
  }

  /** Starts loading the media module when the current mode needs the original (the page calls it after its load event). */
  preloadMedia(): void {
    if (needsOriginal(this.state.mode)) void this.loadMedia().catch(() => undefined);
  }

  private loadMedia(): Promise<MediaModule> {
    this.mediaLoad ??= this.options.loadMedia().then(
      (module) => {
        this.mark("media-module");
        return module;
      },
      (error: unknown) => {
        this.mediaLoad = undefined;
        throw error;
      },
    );
    return this.mediaLoad;
  }

  private ensureChannel(): Promise<ControlChannel> {
    let ch = this.channel;
    if (!ch) {
      const created = new ControlChannel({
        url: controlBaseUrl(this.options.wsUrl, this.options.location ?? window.location),
        query: () => ({ sessionId: this.info.sessionId, targetLanguage: this.state.language }),
        onStateChange: (state) => {
          if (this.channel === created) this.update({ connection: state });
        },
        onMessage: (message) => {
          if (this.channel === created) this.onMessage(message);
        },
        onReconnected: () => {
          if (this.channel === created && (this.state.phase === "listening" || (this.state.phase === "ready" && this.ahead))) this.rejoin(created);
        },
        shouldReconnect: async ({ retryCount, closeCode }) => {
          // Without connectAheadSeconds the socket is not joined before the tap, and the server's sweep closes
          // listener sockets that have not joined after its grace period (1008, docs/RELIABILITY.md): let it go;
          // the tap opens a new one.
          if (closeCode === UNJOINED_CLOSE_CODE && this.state.phase !== "joining" && this.state.phase !== "listening" && !this.ahead) return false;
          return retryCount < 2 || (await this.sessionIsOpen());
        },
        maxConnectionMs: this.options.maxConnectionSeconds === undefined ? undefined : this.options.maxConnectionSeconds * 1000,
        createWebSocket: this.options.createWebSocket,
      });
      created.on("disconnected", ({ willReconnect }) => {
        if (this.channel !== created || willReconnect) return;
        this.channel = undefined;
        if (this.state.phase !== "listening" && this.state.phase !== "joining") {
          this.dropAhead(); // before the tap: a new one at the tap
          return;
        }
        void this.sessionIsOpen().then((open) => {
          if (this.channel !== undefined && this.channel !== created) return;
          this.finish(open ? "ready" : "ended", open ? "The connection was lost. Tap Listen to try again." : undefined);
        });
      });
      this.channel = ch = created;
    }
    const channel = ch;
    return channel.connect().then(
      () => channel,
      (error: unknown) => {
        if (this.channel === channel) this.channel = undefined;
        channel.close();
        throw error;
      },
    );
  }

  private async sessionIsOpen(): Promise<boolean> {
    try {
      return await (this.options.sessionIsOpen ?? defaultSessionIsOpen)(this.info.sessionId);
    } catch {
      return true;
    }
  }

  // -------------------------------------------------------------------------
  // Listen, leave

  /**
   * The Listen tap. Call it synchronously from the tap's handler. Joined
   * before it (prepare): it plays the audio connected ahead inside the tap
   * and sends only what changed since (changeLanguage: the speech, a
   * language picked before the tap). Otherwise, on the channel opened
   * before, it sends the join and the media channel request right behind it
   * before anything else, so their round trip runs while the
   * rest of the tap happens: audio output is unlocked (iOS Safari: inside the
   * gesture) and, when the speaker was live, the audio connection starts now
   * (it waits only for the grant), not after the join's reply.
   */
  listen(): Promise<void> {
    if (this.state.phase === "joining" || this.state.phase === "listening" || this.disposed) return Promise.resolve();
    this.mark("tap");
    const mode = this.state.mode;
    const ahead = this.ahead;
    let joined: Promise<void>;
    if (ahead) {
      // Joined before the tap (and maybe connected): only what the tap changed goes to the server.
      this.ahead = undefined;
      clearTimeout(ahead.timer);
      joined = ahead.joined.then(() => this.correctJoin());
    } else {
      const open = this.channel?.state === "open" ? this.channel : undefined;
      const speech = wantsSpeech(mode);
      joined = open ? this.join(open, true, speech) : this.ensureChannel().then((ch) => this.join(ch, true, speech));
    }
    this.trackJoining(joined);
    this.update({ phase: "joining", error: undefined, captions: EMPTY_CAPTIONS });
    // In the gesture: audio output for the original and for the speech.
    if (needsOriginal(mode)) {
      // Connected before the tap: its stream plays now. Else the element is unlocked for the stream to come.
      if (this.state.stream) this.playOriginal(this.state.stream);
      else this.unlockOriginal();
      this.syncMedia();
    }
    // Web Audio (the speech; the level meter): inside the gesture when this mode plays speech (iOS Safari allows
    // it nowhere else). Otherwise not now: creating an AudioContext is the costliest thing a phone does in the join
    // (about 0.5 s of main thread at 4x CPU throttling, docs/BENCHMARKS.md), and the original plays through the
    // <audio> element without it. The level meter starts it once the audio is live and the page is idle; a later
    // switch to a speech mode unlocks it in that tap.
    if (wantsSpeech(mode)) this.player.unlock();
    return joined.then(
      () => {
        if (this.state.phase !== "joining") return;
        this.update({ phase: "listening" });
        this.syncMedia();
      },
      async (error: unknown) => {
        if (this.state.phase !== "joining") return;
        const open = !isSessionGone(error) && (await this.sessionIsOpen());
        if (this.state.phase !== "joining") return;
        this.finish(open ? "ready" : "ended", open ? describeError(error) : undefined);
      },
    );
  }

  /** Plays the original (from a tap: the element's play() runs inside it). */
  private playOriginal(stream: MediaStream | undefined): void {
    const media = this.media;
    void this.audio.play(stream).then((ok) => {
      if (this.media === media) this.update({ audioBlocked: !ok });
    });
  }

  private unlockOriginal(): void {
    if (typeof document === "undefined") return;
    const el = playbackElement();
    if (!el.srcObject && typeof MediaStream !== "undefined") el.srcObject = new MediaStream();
    void el.play().catch(() => undefined);
  }

  /** After a join made before the tap: the language or speech the listener chose since, if they differ from the join's. */
  private async correctJoin(): Promise<void> {
    const ch = this.channel;
    const want = { language: this.state.language, speech: wantsSpeech(this.state.mode) };
    if (!ch || (this.joinedAs?.language === want.language && this.joinedAs.speech === want.speech)) return;
    await ch.request({ action: "changeLanguage", targetLanguage: want.language, speech: want.speech });
    this.joinedAs = want;
  }

  /**
   * joinSession (and getMediaChannel right behind it when the mode needs the
   * original). `speech`: the server's synthesized speech (not before the tap).
   */
  private async join(ch: ControlChannel, first: boolean, speech: boolean): Promise<void> {
    const mode = this.state.mode;
    const language = this.state.language;
    const reply = ch.request({
      action: "joinSession",
      sessionId: this.info.sessionId,
      targetLanguage: language,
      clientKey: this.options.clientKey(),
      speech,
    });
    if (first && needsOriginal(mode)) {
      // Sent right behind joinSession: the embedded gateway answers one connection in order, so the grant is
      // ready as soon as the join is. Where replies may come out of order (API Gateway) it may fail: asked again.
      this.mediaPrefetch = ch.request({ action: "getMediaChannel" }).then(
        (r) => {
          this.mark("grant");
          return r;
        },
        () => undefined,
      );
    }
    const joined = await reply;
    if (first) this.mark("joined");
    this.joinedAs = { language, speech };
    const offers = joined.offers.length ? joined.offers : this.state.offers;
    const offer = offerFor(offers, this.state.language);
    this.update({ listenerCount: joined.listenerCount, broadcast: joined.broadcastState, offers, offer, modes: modesFor(offer, this.hasDeviceVoice(this.state.language)) });
  }

  private rejoin(ch: ControlChannel): void {
    this.join(ch, false, this.state.phase === "listening" && wantsSpeech(this.state.mode)).then(
      () => this.syncMedia(),
      (error: unknown) => {
        if (isSessionGone(error)) this.finish("ended");
        else this.update({ error: describeError(error) });
      },
    );
  }

  async leave(): Promise<void> {
    const ch = this.channel;
    if (ch?.state === "open") await ch.request({ action: "leaveSession" }, { timeoutMs: 3000 }).catch(() => undefined);
    this.finish("left");
  }

  /** Closes everything (the page goes away). */
  dispose(): void {
    this.finish(this.state.phase === "ended" ? "ended" : "left");
    this.player.close();
    this.disposed = true;
    this.listeners.clear();
  }

  private finish(phase: ListenPhase, error?: string): void {
    const ch = this.channel;
    this.channel = undefined;
    ch?.close();
    this.dropAhead();
    this.joinedAs = undefined;
    this.stopMedia();
    this.player.stop();
    this.voice.cancel();
    this.mediaPrefetch = undefined;
    this.update({ phase, connection: "closed", error, speaking: undefined, switching: false });
  }

  // -------------------------------------------------------------------------
  // Pushes

  private onMessage(message: ServerMessage): void {
    switch (message.type) {
      case "broadcastPaused":
      case "broadcastMuted":
      case "broadcastStopped":
        // The speaker stopped talking: the speech stops at once too.
        this.player.stop();
        this.voice.cancel();
        this.update({ broadcast: message.broadcastState });
        this.syncMedia();
        break;
      case "broadcastResumed":
      case "broadcastUnmuted":
        this.update({ broadcast: message.broadcastState });
        this.syncMedia();
        break;
      case "broadcastStarted":
        // The speaker's media (re)started, maybe from a new page with no peer connections: offer again.
        this.starts++;
        this.update({ broadcast: message.broadcastState });
        this.syncMedia();
        break;
      case "sessionEnded":
        this.finish("ended");
        break;
      case "caption":
        if (this.state.phase !== "listening" || message.language !== this.state.language) return;
        this.update({ captions: applyCaption(this.state.captions, message) });
        if (message.final && this.state.mode === "device") this.voice.speak(message.text, message.language);
        break;
      case "speech":
        if (this.state.phase !== "listening" || message.language !== this.state.language || !wantsSpeech(this.state.mode)) return;
        if (this.state.broadcast?.status === "paused") return;
        this.player.accept(message);
        break;
      case "error":
        this.update({ error: message.message });
        break;
      default:
        break;
    }
  }

  // -------------------------------------------------------------------------
  // Language, mode, volume

  /** Switches language: captions and speech from the next segment, without reconnecting. */
  async changeLanguage(language: LanguageCode): Promise<void> {
    if (language === this.state.language || this.state.switching) return;
    const offer = offerFor(this.state.offers, language);
    const deviceVoice = this.hasDeviceVoice(language);
    const mode = effectiveMode(offer, this.chosenMode, deviceVoice);
    if (wantsSpeech(mode) && this.state.phase !== "ready") this.player.unlock(); // in the change's gesture
    await this.apply({ language, offer, modes: modesFor(offer, deviceVoice), mode });
  }

  /** Switches the listening mode (one of state.modes). */
  async setMode(mode: ListenMode): Promise<void> {
    if (mode === this.state.mode || !this.state.modes.includes(mode) || this.state.switching) return;
    this.chosenMode = mode;
    if (wantsSpeech(mode) && this.state.phase !== "ready") this.player.unlock(); // in the change's gesture
    await this.apply({ mode });
  }

  private async apply(next: Partial<ListenerState> & { mode?: ListenMode }): Promise<void> {
    const previous = this.state;
    const language = next.language ?? previous.language;
    const mode = next.mode ?? previous.mode;
    const languageChanged = language !== previous.language;
    const speechChanged = wantsSpeech(mode) !== wantsSpeech(previous.mode);
    const ch = this.channel;
    if (this.state.phase !== "listening" || ch?.state !== "open") {
      // Used at the next (re)join (or, joined before the tap, sent at the tap); the audio connected before the tap follows the mode.
      this.update(next);
      if (needsOriginal(mode)) void this.loadMedia().catch(() => undefined);
      this.syncMedia();
      return;
    }
    // Shown at once (the picker and the mode switch follow the tap); undone if the server refuses.
    const undo: Partial<ListenerState> = { language: previous.language, offer: previous.offer, modes: previous.modes, mode: previous.mode };
    const request = languageChanged || speechChanged;
    if (languageChanged) this.player.reset();
    else if (!wantsSpeech(mode)) this.player.stop();
    if (mode !== "device") this.voice.cancel();
    this.update({ ...next, switching: request, error: undefined, ...(languageChanged ? { captions: { language, history: [] } } : {}) });
    if (request) {
      try {
        await ch.request({ action: "changeLanguage", targetLanguage: language, speech: wantsSpeech(mode) });
        this.joinedAs = { language, speech: wantsSpeech(mode) };
      } catch (error) {
        this.update({ ...undo, switching: false, error: describeError(error), ...(languageChanged ? { captions: { language: previous.language, history: [] } } : {}) });
        this.syncMedia();
        this.applyVolume();
        return;
      }
      this.update({ switching: false });
    }
    this.syncMedia();
    this.applyVolume();
  }

  /** The device's voices changed (browsers load them late): the modes a language allows may too. */
  refreshModes(): void {
    const modes = modesFor(this.state.offer, this.hasDeviceVoice(this.state.language));
    if (modes.join() !== this.state.modes.join()) this.update({ modes });
  }

  setVolume(volume: number): void {
    this.update({ volume: Math.min(1, Math.max(0, volume)) });
    this.applyVolume();
  }

  setMuted(muted: boolean): void {
    this.update({ muted });
    this.applyVolume();
  }

  private applyVolume(): void {
    const { volume, muted, mode } = this.state;
    this.audio.set(mode === "mix" ? volume * DUCKED_GAIN : volume, muted);
    this.player.setVolume(volume, muted);
  }

  /** After the browser blocked playback of the original: a tap plays it. */
  playAfterBlock(): void {
    this.unlockOriginal();
    this.player.unlock();
    void this.audio.play(this.state.stream).then((ok) => this.update({ audioBlocked: !ok }));
  }

  /** The audio connection failed for good: try again. */
  retryMedia(): void {
    this.media?.start();
  }

  // -------------------------------------------------------------------------
  // The original (WebRTC), only when the mode needs it

  /** The mode needs the original and the listener tapped Listen, or joined before the tap. */
  private mediaWanted(): boolean {
    const { phase, mode } = this.state;
    return (phase === "listening" || phase === "joining" || (phase === "ready" && this.ahead !== undefined)) && needsOriginal(mode);
  }

  private syncMedia(): void {
    if (!this.mediaWanted()) {
      this.stopMedia();
      return;
    }
    if (!this.media) {
      void this.createMedia();
      return;
    }
    // Before the join's reply (the tap) the page's word on it: the audio connects beside the join.
    if (!(this.state.broadcast ? this.state.broadcast.live : this.info.live)) return;
    if (this.startedFor === undefined) this.media.start();
    else if (this.startedFor !== this.starts) void this.media.restartUnlessFlowing();
    this.startedFor = this.starts;
  }

  private creating = false;

  private async createMedia(): Promise<void> {
    if (this.creating) return;
    this.creating = true;
    let loaded: MediaModule;
    try {
      loaded = await this.loadMedia();
    } catch (error) {
      console.error("[listener] could not load the audio module", error);
      this.update({ media: "failed" });
      return;
    } finally {
      this.creating = false;
    }
    if (this.media || !this.mediaWanted()) return;
    const requestChannel = async (): Promise<MediaChannelMessage> => {
      // Started at the tap, before the join went out (the channel was still opening): its grant follows it.
      if (!this.mediaPrefetch && this.joining) await this.joining.catch(() => undefined);
      const early = this.mediaPrefetch;
      this.mediaPrefetch = undefined;
      const message = early ? await early : undefined;
      if (stillFresh(message)) return message;
      const ch = this.channel;
      if (!ch) throw ControlChannelError.notConnected();
      return ch.request({ action: "getMediaChannel" });
    };
    const media = new loaded.ListenerConnection({ requestChannel, isFatal: isSessionGone });
    media.on("stateChanged", (state) => {
      if (this.media !== media) return;
      if (state === "live") this.mark("media-live");
      this.update({ media: state });
    });
    media.on("stream", (stream) => {
      if (this.media !== media) return;
      this.update({ stream });
      // Before the tap the audio is connected but silent: the tap plays it (nothing sounds before a person asked).
      if (this.state.phase !== "ready") this.playOriginal(stream);
    });
    this.media = media;
    this.startedFor = undefined;
    this.applyVolume();
    this.syncMedia();
  }

  private stopMedia(): void {
    const media = this.media;
    this.media = undefined;
    this.startedFor = undefined;
    if (media) {
      media.stop();
      media.removeAllListeners();
      void this.audio.play(undefined);
    }
    if (this.state.media !== "idle" || this.state.stream) this.update({ media: "idle", stream: undefined, audioBlocked: false });
  }
}

/** A prefetched channel is used only while its grant has a good margin left. */
function stillFresh(message: MediaChannelMessage | undefined): message is MediaChannelMessage {
  const expires = message?.channels[0]?.grantExpiresAt;
  return message !== undefined && (expires === undefined || expires - Date.now() / 1000 > 30);
}
