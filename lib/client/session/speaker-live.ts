import type { MediaChannelMessage } from "../../core/protocol";
import { replacementDelayMs } from "../backoff";
import { describeError } from "../describe-error";
import { isClientError } from "../errors";
import { resumeAudioContext } from "../media/level";
import type { BroadcastMaster, BroadcastMasterOptions } from "../rtc/master";
import { openMicrophone, stopStream } from "../rtc/microphone";
import { LIVE_OFF, type LiveAudioState } from "./speaker-state";

/**
 * The speaker's live audio for one session, owned by SpeakerSession: the
 * microphone (echo cancellation, noise suppression, gain control), MASTER
 * on every signaling channel of the session with one peer connection per
 * listener (rtc/master.ts, loaded on demand), and the announcement that
 * listeners may connect. Mute and pause disable the track (no
 * renegotiation). The control actions it needs come in as functions: the
 * session makes them.
 */

export interface MasterLike {
  setChannels(message: MediaChannelMessage): Promise<void>;
  setMuted(muted: boolean): void;
  setPaused(paused: boolean): void;
  on(event: "peersChanged", handler: (n: number) => void): () => void;
  on(event: "error", handler: (error: Error) => void): () => void;
  close(): void;
}

export interface LiveAudioDeps {
  /** getMediaChannel as the speaker. */
  requestChannels(): Promise<MediaChannelMessage>;
  /** startBroadcast: listeners connect when they hear it. */
  announce(): Promise<void>;
  /** stopBroadcast. */
  withdraw(): Promise<void>;
  /** The state changed. */
  changed(state: LiveAudioState): void;
  /** The signaling connection's cap, s (EARSHOT_SIGNALING_MAX_CONNECTION_SECONDS; KVS: 1 h): renewed before it. */
  signalingMaxConnectionSeconds?: number;
  openMicrophone?: () => Promise<MediaStream>;
  /** Makes the master (default: rtc/master.ts, loaded only when going live). */
  loadMaster?: () => Promise<(options: Pick<BroadcastMasterOptions, "stream" | "refreshChannels" | "renewSignalingAfterMs">) => MasterLike>;
  /** In the click: the level meter's AudioContext may start. */
  resumeAudio?: () => void;
}

const AUDIO_FALLBACK = "Something went wrong with the audio.";
const describeMediaError = (e: unknown) => describeError(e, AUDIO_FALLBACK);

const loadBroadcastMaster = async () => {
  const { BroadcastMaster } = await import("../rtc/master");
  return (options: ConstructorParameters<typeof BroadcastMaster>[0]): BroadcastMaster => new BroadcastMaster(options);
};

export class SpeakerLiveAudio {
  private state: LiveAudioState = LIVE_OFF;
  private master?: MasterLike;
  private stream?: MediaStream;
  private restoring = false;
  /** Bumped by reset(): a goLive still on its way for an older session closes what it opened. */
  private generation = 0;
  private muted = false;
  private paused = false;

  constructor(private readonly deps: LiveAudioDeps) {}

  get current(): LiveAudioState {
    return this.state;
  }

  private set(patch: Partial<LiveAudioState>): void {
    this.state = { ...this.state, ...patch };
    this.deps.changed(this.state);
  }

  /** The track follows mute and pause (called on every state change; cheap). */
  setSilence(muted: boolean, paused: boolean): void {
    this.muted = muted;
    this.paused = paused;
    this.master?.setMuted(muted);
    this.master?.setPaused(paused);
  }

  /** Go live: the microphone, MASTER on every channel, then startBroadcast. Call it from the click. */
  async goLive(): Promise<void> {
    const generation = this.generation;
    this.set({ error: undefined, warning: undefined, phase: "starting" });
    (this.deps.resumeAudio ?? resumeAudioContext)();
    const makeMaster = (this.deps.loadMaster ?? loadBroadcastMaster)();
    makeMaster.catch(() => undefined); // reported below, once the microphone is open
    let mic: MediaStream;
    try {
      mic = await (this.deps.openMicrophone ?? openMicrophone)();
    } catch (e) {
      if (generation !== this.generation) return;
      this.set({ error: describeMediaError(e), phase: "off" });
      return;
    }
    if (generation !== this.generation) return stopStream(mic);
    this.stream = mic;
    this.set({ stream: mic });
    try {
      const create = await makeMaster;
      if (generation !== this.generation) return;
      const max = this.deps.signalingMaxConnectionSeconds;
      const master = create({
        stream: mic,
        refreshChannels: () => this.deps.requestChannels(),
        renewSignalingAfterMs: max === undefined ? undefined : replacementDelayMs(max * 1000),
      });
      this.master = master;
      master.setMuted(this.muted);
      master.setPaused(this.paused);
      master.on("peersChanged", (n) => {
        if (this.master === master) this.set({ peers: n });
      });
      master.on("error", (e) => {
        if (this.master === master) this.set({ warning: describeMediaError(e) });
      });
      await master.setChannels(await this.deps.requestChannels());
      if (generation !== this.generation) return;
      await this.deps.announce();
      if (generation !== this.generation) return;
      this.set({ phase: "live" });
    } catch (e) {
      if (generation !== this.generation) return;
      this.release();
      this.set({ error: isClientError(e) && e.kind === "control" ? describeError(e) : `Could not go live. ${describeMediaError(e)}`, phase: "off" });
    }
  }

  /** Stop broadcast: stopBroadcast, then the peer connections and the microphone. */
  async stop(): Promise<void> {
    const generation = this.generation;
    this.set({ phase: "stopping" });
    try {
      await this.deps.withdraw();
    } catch (e) {
      if (generation === this.generation) this.set({ warning: describeError(e) });
    } finally {
      if (generation === this.generation) {
        this.release();
        this.set({ phase: "off" });
      }
    }
  }

  /** After the control channel came back (its drop told listeners the broadcast stopped): re-announce. */
  restore(): void {
    const master = this.master;
    if (!master || this.restoring) return;
    this.restoring = true;
    const generation = this.generation;
    void (async () => {
      try {
        await master.setChannels(await this.deps.requestChannels());
        await this.deps.announce();
      } finally {
        this.restoring = false;
      }
    })().catch((e: unknown) => {
      if (generation === this.generation) this.set({ warning: describeError(e) });
    });
  }

  /** A new shard (past ~10 listeners per channel) is pushed as a new mediaChannel: become its master too. */
  onMediaChannel(message: MediaChannelMessage): void {
    if (message.role !== "MASTER") return;
    const generation = this.generation;
    this.master?.setChannels(message).catch((e: unknown) => {
      if (generation === this.generation) this.set({ warning: describeMediaError(e) });
    });
  }

  /** Closes every peer connection and the microphone; the phase is the caller's. */
  private release(): void {
    this.master?.close();
    this.master = undefined;
    stopStream(this.stream);
    this.stream = undefined;
    this.restoring = false;
    if (this.state.stream || this.state.peers) this.set({ stream: undefined, peers: 0 });
  }

  /** The session ended or the page goes away: close everything and start over from off. */
  reset(): void {
    this.generation++;
    this.release();
    if (this.state !== LIVE_OFF) this.set({ ...LIVE_OFF });
  }
}
