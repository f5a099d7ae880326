import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LanguageOffer } from "@/lib/core/speech";
import { SpeechPlayer } from "@/lib/client/media/speech-player";
import { ListenerSession, type ListenerSessionOptions } from "@/lib/client/session/listener-session";
import { clientKeyFor, type MediaConnection, type MediaModule } from "@/lib/client/session/listener-platform";
import {
  EMPTY_CAPTIONS,
  applyCaption,
  effectiveMode,
  modesFor,
  needsOriginal,
  offerFor,
  statusOf,
  wantsSpeech,
} from "@/lib/client/session/listener-state";
import { FakeSocket } from "./support/fake-socket";

const OFFERS: LanguageOffer[] = [
  { language: "en", kind: "source", captions: true },
  { language: "es", kind: "voice", captions: true },
  { language: "gl", kind: "voice", captions: true, voiceNote: "Portuguese voice" },
  { language: "eo", kind: "captions", captions: true },
];
const BROADCAST = { status: "active" as const, muted: false, live: true };

describe("captions", () => {
  const cap = (seq: number, text: string, final: boolean, language: "en" | "es" = "en") => ({ seq, text, final, language });

  it("replaces a partial by the next partial and by its final, never a final by a partial", () => {
    let s = applyCaption(EMPTY_CAPTIONS, cap(0, "hello", false));
    s = applyCaption(s, cap(0, "hello wor", false));
    expect(s.current).toEqual({ seq: 0, text: "hello wor", final: false });
    s = applyCaption(s, cap(0, "Hello world.", true));
    expect(s.current).toEqual({ seq: 0, text: "Hello world.", final: true });
    expect(applyCaption(s, cap(0, "hello", false))).toBe(s);
    expect(s.history).toEqual([]);
  });

  it("moves a final line into the scroll-back when the next seq starts; an unfinished partial is not kept", () => {
    let s = applyCaption(EMPTY_CAPTIONS, cap(0, "One.", true));
    s = applyCaption(s, cap(1, "tw", false));
    expect(s.history.map((h) => h.seq)).toEqual([0]);
    s = applyCaption(s, cap(2, "Three.", true)); // seq 1 never finished
    expect(s.history.map((h) => h.seq)).toEqual([0]);
    // A late final of seq 1 goes into the history in order.
    s = applyCaption(s, cap(1, "Two.", true));
    expect(s.history.map((h) => h.text)).toEqual(["One.", "Two."]);
    expect(s.current?.seq).toBe(2);
  });

  it("keeps a bounded scroll-back and starts over in another language", () => {
    let s = EMPTY_CAPTIONS;
    for (let i = 0; i < 10; i++) s = applyCaption(s, cap(i, `line ${i}`, true), 5);
    expect(s.history.map((h) => h.seq)).toEqual([4, 5, 6, 7, 8]);
    s = applyCaption(s, cap(0, "Hola.", true, "es"));
    expect(s).toEqual({ language: "es", current: { seq: 0, text: "Hola.", final: true }, history: [] });
  });
});

describe("modes", () => {
  it("offers translation only by default for a voiced language, the original for the source and captions-only languages", () => {
    expect(modesFor(offerFor(OFFERS, "es"))).toEqual(["translation", "mix", "original"]);
    expect(modesFor(offerFor(OFFERS, "es"), true)).toEqual(["translation", "mix", "original", "device"]);
    expect(modesFor(offerFor(OFFERS, "en"))).toEqual(["original"]);
    expect(modesFor(offerFor(OFFERS, "eo"), true)).toEqual(["original", "device"]);
    expect(offerFor(OFFERS, "de").kind).toBe("original");
    expect(effectiveMode(offerFor(OFFERS, "es"), undefined)).toBe("translation");
    expect(effectiveMode(offerFor(OFFERS, "en"), "mix")).toBe("original");
    expect(effectiveMode(offerFor(OFFERS, "gl"), "mix")).toBe("mix");
  });

  it("needs WebRTC only with the original, and server speech only with translation", () => {
    expect((["translation", "mix", "original", "device"] as const).map((m) => [needsOriginal(m), wantsSpeech(m)])).toEqual([
      [false, true],
      [true, true],
      [true, false],
      [false, false],
    ]);
  });

  it("shows a translation-only listener live without any audio connection", () => {
    const base = { phase: "listening" as const, connection: "open" as const, broadcast: BROADCAST, media: "idle" as const };
    expect(statusOf({ ...base, mode: "translation" }).state).toBe("live");
    expect(statusOf({ ...base, mode: "original" }).state).toBe("connecting");
    expect(statusOf({ ...base, mode: "original", media: "live" }).state).toBe("live");
    expect(statusOf({ ...base, mode: "translation", broadcast: { ...BROADCAST, status: "paused" } }).state).toBe("paused");
    expect(statusOf({ ...base, mode: "translation", broadcast: { ...BROADCAST, live: false } }).state).toBe("waiting");
    expect(statusOf({ ...base, phase: "ready", mode: "translation" }).state).toBe("idle");
  });
});

// ---------------------------------------------------------------------------

class FakeMedia implements MediaConnection {
  static all: FakeMedia[] = [];
  state: MediaConnection["state"] = "idle";
  starts = 0;
  stopped = false;
  private streamHandlers: ((stream: MediaStream | undefined) => void)[] = [];
  constructor(readonly options: ConstructorParameters<MediaModule["ListenerConnection"]>[0]) {
    FakeMedia.all.push(this);
  }
  on(event: string, handler: (value: never) => void): () => void {
    if (event === "stream") this.streamHandlers.push(handler as (stream: MediaStream | undefined) => void);
    return () => undefined;
  }
  /** The remote stream arrived (what the viewer emits once the track is there). */
  emitStream(stream: MediaStream): void {
    for (const h of this.streamHandlers) h(stream);
  }
  start() {
    this.starts++;
  }
  async restartUnlessFlowing() {}
  stop() {
    this.stopped = true;
  }
  removeAllListeners() {}
}

class CountingPlayer extends SpeechPlayer {
  stops = 0;
  stop() {
    this.stops++;
    super.stop();
  }
}

const sock = () => FakeSocket.all.at(-1)!;

function reply(socket: FakeSocket, action: string, message: object) {
  const sent = [...socket.sent].reverse().find((m) => m.action === action);
  if (!sent) throw new Error(`no ${action} sent`);
  socket.serverSends({ ...message, requestId: sent.requestId });
}

function joined(language: string, speech: boolean) {
  return { type: "sessionJoined", sessionId: "quiet-harbor-042", role: "listener", title: "T", targetLanguage: language, sourceLanguage: "en", listenerCount: 3, broadcastState: BROADCAST, offers: OFFERS, speech };
}

function makeSession(language: "en" | "es", sessionIsOpen = async () => true, live?: boolean, extra: Partial<ListenerSessionOptions> = {}) {
  const loads: number[] = [];
  const played: (MediaStream | undefined)[] = [];
  const player = new CountingPlayer();
  const session = new ListenerSession({
    session: { sessionId: "quiet-harbor-042", title: "T", sourceLanguage: "en", listenerCount: 2, offers: OFFERS, live },
    language,
    clientKey: () => "key-0123456789abcdef",
    loadMedia: async () => {
      loads.push(1);
      return { ListenerConnection: FakeMedia };
    },
    createWebSocket: (url) => new FakeSocket(url),
    location: { protocol: "http:", host: "localhost:3000" },
    sessionIsOpen,
    speechPlayer: player,
    audio: {
      play: (stream) => {
        played.push(stream);
        return Promise.resolve(true);
      },
      set: () => undefined,
    },
    speak: { speak: () => undefined, cancel: () => undefined },
    mark: () => undefined,
    ...extra,
  });
  return { session, loads, player, played };
}

describe("ListenerSession", () => {
  beforeEach(() => {
    FakeSocket.all = [];
    FakeMedia.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it("preloads the media module only when the mode needs the original, and loads it once", async () => {
    const en = makeSession("en", undefined, true);
    en.session.preloadMedia();
    en.session.preloadMedia();
    await vi.advanceTimersByTimeAsync(0);
    expect(en.loads).toHaveLength(1);
    expect(FakeMedia.all).toEqual([]); // loaded, not connected: nothing before the tap without connectAheadSeconds
    // Translation only: no media module.
    const es = makeSession("es", undefined, true);
    es.session.preloadMedia();
    await vi.advanceTimersByTimeAsync(0);
    expect(es.loads).toHaveLength(0);
  });

  it("opens the control channel before the tap without joining; a translation-only listener asks for no media", async () => {
    const { session, loads } = makeSession("es");
    session.prepare();
    await vi.advanceTimersByTimeAsync(0);
    expect(sock().url).toContain("sessionId=quiet-harbor-042");
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    expect(sock().sent).toEqual([]);
    expect(session.getSnapshot().status.state).toBe("idle");

    const listening = session.listen();
    await vi.advanceTimersByTimeAsync(0);
    expect(sock().sent.map((m) => m.action)).toEqual(["joinSession"]);
    expect(sock().sent[0]).toMatchObject({ targetLanguage: "es", speech: true, clientKey: "key-0123456789abcdef" });
    reply(sock(), "joinSession", joined("es", true));
    await listening;
    const s = session.getSnapshot();
    expect(s.phase).toBe("listening");
    expect(s.mode).toBe("translation");
    expect(s.status.state).toBe("live");
    expect(s.listenerCount).toBe(3);
    expect(loads).toEqual([]);
    expect(FakeMedia.all).toEqual([]);
    session.dispose();
  });

  it("lets the server's close of a socket that never joined (1008) go before the tap; the tap opens a new one and joins", async () => {
    const { session } = makeSession("es");
    session.prepare();
    await vi.advanceTimersByTimeAsync(0);
    const early = sock();
    early.open();
    await vi.advanceTimersByTimeAsync(0);
    // The page sat untapped past the sweep's grace period.
    early.drop(1008, "join the session after connecting");
    await vi.advanceTimersByTimeAsync(5_000);
    expect(FakeSocket.all).toEqual([early]);
    expect(session.getSnapshot().status.state).toBe("idle");

    const listening = session.listen();
    await vi.advanceTimersByTimeAsync(0);
    expect(sock()).not.toBe(early);
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    expect(sock().sent.map((m) => m.action)).toEqual(["joinSession"]);
    reply(sock(), "joinSession", joined("es", true));
    await listening;
    expect(session.getSnapshot().phase).toBe("listening");
    session.dispose();
  });

  it("a source-language listener sends getMediaChannel right behind the join and connects the original", async () => {
    const { session, loads } = makeSession("en");
    session.prepare();
    await vi.advanceTimersByTimeAsync(0);
    sock().open();
    const listening = session.listen();
    await vi.advanceTimersByTimeAsync(0);
    expect(sock().sent.map((m) => [m.action, m.speech])).toEqual([
      ["joinSession", false],
      ["getMediaChannel", undefined],
    ]);
    reply(sock(), "joinSession", joined("en", false));
    await listening;
    await vi.advanceTimersByTimeAsync(0);
    expect(loads.length).toBe(1);
    expect(FakeMedia.all).toHaveLength(1);
    expect(FakeMedia.all[0]!.starts).toBe(1);
    session.dispose();
    expect(FakeMedia.all[0]!.stopped).toBe(true);
  });

  it("with the speaker live when the page was rendered, the tap sends the join at once and connects the audio before the join's reply", async () => {
    const { session } = makeSession("en", undefined, true);
    session.prepare();
    await vi.advanceTimersByTimeAsync(0);
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    const listening = session.listen();
    // Sent inside the tap itself, before anything else it does.
    expect(sock().sent.map((m) => m.action)).toEqual(["joinSession", "getMediaChannel"]);
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeMedia.all).toHaveLength(1);
    expect(FakeMedia.all[0]!.starts).toBe(1);
    expect(session.getSnapshot().phase).toBe("joining");
    // Its grant is the reply to the request sent behind the join: no second request.
    const grant = { type: "mediaChannel", role: "VIEWER", clientId: "v-1", channels: [{ channelName: "c" }], signaling: { kind: "embedded", endpoint: "ws://x/signaling" } };
    const channel = FakeMedia.all[0]!.options.requestChannel();
    reply(sock(), "joinSession", joined("en", false));
    reply(sock(), "getMediaChannel", grant);
    await expect(channel).resolves.toMatchObject({ clientId: "v-1" });
    await listening;
    expect(sock().sent.filter((m) => m.action === "getMediaChannel")).toHaveLength(1);
    // The reply confirmed the broadcast: nothing starts twice.
    expect(FakeMedia.all).toHaveLength(1);
    expect(FakeMedia.all[0]!.starts).toBe(1);
    session.dispose();
  });

  it("a tap before the channel opened: the early audio connection asks for its grant only once the join went out", async () => {
    const { session } = makeSession("en", undefined, true);
    const listening = session.listen();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeMedia.all).toHaveLength(1);
    const channel = FakeMedia.all[0]!.options.requestChannel();
    await vi.advanceTimersByTimeAsync(0);
    expect(sock().sent).toEqual([]);
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    expect(sock().sent.map((m) => m.action)).toEqual(["joinSession", "getMediaChannel"]);
    reply(sock(), "joinSession", joined("en", false));
    reply(sock(), "getMediaChannel", { type: "mediaChannel", role: "VIEWER", clientId: "v-2", channels: [{ channelName: "c" }], signaling: { kind: "embedded", endpoint: "ws://x/signaling" } });
    await expect(channel).resolves.toMatchObject({ clientId: "v-2" });
    await listening;
    expect(sock().sent.filter((m) => m.action === "getMediaChannel")).toHaveLength(1);
    session.dispose();
  });

  it("with the speaker not live when the page was rendered, the audio waits for the broadcast", async () => {
    const { session } = makeSession("en", undefined, false);
    session.prepare();
    await vi.advanceTimersByTimeAsync(0);
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    const listening = session.listen();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeMedia.all[0]?.starts ?? 0).toBe(0);
    reply(sock(), "joinSession", { ...joined("en", false), broadcastState: { ...BROADCAST, live: false } });
    await listening;
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeMedia.all[0]!.starts).toBe(0);
    sock().serverSends({ type: "broadcastStarted", broadcastState: BROADCAST });
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeMedia.all[0]!.starts).toBe(1);
    session.dispose();
  });

  it("re-joins with the same clientKey, language and speech flag after a reconnect", async () => {
    const { session } = makeSession("es");
    const listening = session.listen();
    await vi.advanceTimersByTimeAsync(0);
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    reply(sock(), "joinSession", joined("es", true));
    await listening;
    const first = sock();
    first.drop(1006);
    expect(session.getSnapshot().status.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sock()).not.toBe(first);
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    expect(sock().sent.find((m) => m.action === "joinSession")).toMatchObject({ clientKey: "key-0123456789abcdef", targetLanguage: "es", speech: true });
    reply(sock(), "joinSession", joined("es", true));
    await vi.advanceTimersByTimeAsync(0);
    expect(session.getSnapshot().status.state).toBe("live");
    session.dispose();
  });

  it("ends when the re-join says the session is gone", async () => {
    const { session } = makeSession("es", async () => false);
    const listening = session.listen();
    await vi.advanceTimersByTimeAsync(0);
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    reply(sock(), "joinSession", joined("es", true));
    await listening;
    sock().drop(1006);
    await vi.advanceTimersByTimeAsync(1_000);
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    reply(sock(), "joinSession", { type: "error", code: "SESSION_INACTIVE", message: "The session has ended." });
    await vi.advanceTimersByTimeAsync(0);
    expect(session.getSnapshot().phase).toBe("ended");
    expect(session.getSnapshot().status.state).toBe("ended");
  });

  it("switches mode without reconnecting: original asks for no speech and connects WebRTC; the speaker's pause stops the speech", async () => {
    const { session, player } = makeSession("es");
    const listening = session.listen();
    await vi.advanceTimersByTimeAsync(0);
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    reply(sock(), "joinSession", joined("es", true));
    await listening;

    const stopsBefore = player.stops;
    sock().serverSends({ type: "broadcastPaused", sessionId: "quiet-harbor-042", broadcastState: { ...BROADCAST, status: "paused" } });
    expect(player.stops).toBe(stopsBefore + 1);
    expect(session.getSnapshot().status.state).toBe("paused");

    // mix: still speech (no changeLanguage), and the original connects.
    await session.setMode("mix");
    await vi.advanceTimersByTimeAsync(0);
    expect(sock().sent.filter((m) => m.action === "changeLanguage")).toEqual([]);
    expect(FakeMedia.all).toHaveLength(1);

    // original: the server stops sending speech.
    const switching = session.setMode("original");
    await vi.advanceTimersByTimeAsync(0);
    expect(sock().sent.at(-1)).toMatchObject({ action: "changeLanguage", targetLanguage: "es", speech: false });
    reply(sock(), "changeLanguage", { type: "languageChanged", sessionId: "quiet-harbor-042", targetLanguage: "es", previousLanguage: "es", speech: false });
    await switching;
    expect(session.getSnapshot().mode).toBe("original");
    expect(FakeSocket.all).toHaveLength(1); // never reconnected

    // back to translation only: the peer connection goes away.
    const back = session.setMode("translation");
    await vi.advanceTimersByTimeAsync(0);
    reply(sock(), "changeLanguage", { type: "languageChanged", sessionId: "quiet-harbor-042", targetLanguage: "es", previousLanguage: "es", speech: true });
    await back;
    expect(FakeMedia.all[0]!.stopped).toBe(true);
    session.dispose();
  });

  it("keeps captions of the listener's language only, and starts them over on a language change", async () => {
    const { session } = makeSession("es");
    const listening = session.listen();
    await vi.advanceTimersByTimeAsync(0);
    sock().open();
    await vi.advanceTimersByTimeAsync(0);
    reply(sock(), "joinSession", joined("es", true));
    await listening;
    const caption = (seq: number, language: string, text: string) => ({ type: "caption", sessionId: "quiet-harbor-042", seq, language, text, final: true, startMs: 0, endMs: 1 });
    sock().serverSends(caption(0, "es", "Hola."));
    sock().serverSends(caption(0, "en", "Hello."));
    expect(session.getSnapshot().captions.current?.text).toBe("Hola.");
    const change = session.changeLanguage("gl");
    await vi.advanceTimersByTimeAsync(0);
    expect(sock().sent.at(-1)).toMatchObject({ action: "changeLanguage", targetLanguage: "gl", speech: true });
    reply(sock(), "changeLanguage", { type: "languageChanged", sessionId: "quiet-harbor-042", targetLanguage: "gl", previousLanguage: "es", speech: true });
    await change;
    expect(session.getSnapshot().captions).toEqual({ language: "gl", history: [] });
    sock().serverSends(caption(1, "es", "Adiós."));
    expect(session.getSnapshot().captions.current).toBeUndefined();
    session.dispose();
  });

  describe("joining before the tap (connectAheadSeconds)", () => {
    const GRANT = { type: "mediaChannel", role: "VIEWER", clientId: "v-9", channels: [{ channelName: "c" }], signaling: { kind: "embedded", endpoint: "ws://x/signaling" } };
    const stream = { id: "remote" } as unknown as MediaStream;

    /** A page that joins before the tap, its control socket open (the join sent, not answered). */
    async function preparedAhead(language: "en" | "es", options: { seconds?: number; sessionIsOpen?: () => Promise<boolean> } = {}) {
      const made = makeSession(language, options.sessionIsOpen, true, { connectAheadSeconds: options.seconds ?? 60 });
      made.session.prepare();
      await vi.advanceTimersByTimeAsync(0);
      const socket = sock();
      socket.open();
      await vi.advanceTimersByTimeAsync(0);
      return { ...made, socket };
    }

    it("joins without speech and connects the original silently; the tap plays it at once and sends nothing", async () => {
      const { session, played } = await preparedAhead("en");
      expect(sock().sent.map((m) => [m.action, m.speech])).toEqual([
        ["joinSession", false],
        ["getMediaChannel", undefined],
      ]);
      expect(FakeMedia.all).toHaveLength(1);
      expect(FakeMedia.all[0]!.starts).toBe(1);
      const channel = FakeMedia.all[0]!.options.requestChannel();
      reply(sock(), "joinSession", joined("en", false));
      reply(sock(), "getMediaChannel", GRANT);
      await expect(channel).resolves.toMatchObject({ clientId: "v-9" });
      FakeMedia.all[0]!.emitStream(stream);
      // Connected, counted, but nothing plays before the tap.
      expect(session.getSnapshot()).toMatchObject({ phase: "ready", listenerCount: 3, stream });
      expect(played).toEqual([]);

      const sent = sock().sent.length;
      const listening = session.listen();
      // Played inside the tap itself.
      expect(played).toEqual([stream]);
      await listening;
      expect(session.getSnapshot().phase).toBe("listening");
      expect(sock().sent).toHaveLength(sent);
      expect(FakeMedia.all).toHaveLength(1);
      expect(FakeMedia.all[0]!.starts).toBe(1);
      session.dispose();
      expect(FakeMedia.all[0]!.stopped).toBe(true);
    });

    it("the tap asks for the speech, and for a language chosen before it; no media for translation only", async () => {
      const { session, loads } = await preparedAhead("en");
      reply(sock(), "joinSession", joined("en", false));
      await vi.advanceTimersByTimeAsync(0);
      expect(FakeMedia.all).toHaveLength(1);
      // Spanish before the tap: translation only, so the audio connected ahead goes; nothing is sent yet.
      await session.changeLanguage("es");
      expect(session.getSnapshot().mode).toBe("translation");
      expect(FakeMedia.all[0]!.stopped).toBe(true);
      expect(sock().sent.filter((m) => m.action === "changeLanguage")).toEqual([]);

      const listening = session.listen();
      await vi.advanceTimersByTimeAsync(0);
      expect(sock().sent.at(-1)).toMatchObject({ action: "changeLanguage", targetLanguage: "es", speech: true });
      expect(session.getSnapshot().phase).toBe("joining");
      reply(sock(), "changeLanguage", { type: "languageChanged", sessionId: "quiet-harbor-042", targetLanguage: "es", previousLanguage: "en", speech: true });
      await listening;
      expect(session.getSnapshot()).toMatchObject({ phase: "listening", language: "es", mode: "translation" });
      expect(FakeMedia.all).toHaveLength(1);
      expect(loads).toHaveLength(1);
      session.dispose();
    });

    it("a page not tapped in time closes its channel and frees the audio; a later tap joins afresh", async () => {
      const { session, socket: early } = await preparedAhead("en", { seconds: 30 });
      reply(early, "joinSession", joined("en", false));
      await vi.advanceTimersByTimeAsync(29_000);
      expect(early.closedWith).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1_000);
      expect(early.closedWith).toBeDefined();
      expect(FakeMedia.all[0]!.stopped).toBe(true);
      expect(session.getSnapshot()).toMatchObject({ phase: "ready", connection: "closed" });

      const listening = session.listen();
      await vi.advanceTimersByTimeAsync(0);
      expect(sock()).not.toBe(early);
      sock().open();
      await vi.advanceTimersByTimeAsync(0);
      expect(sock().sent.map((m) => m.action)).toEqual(["joinSession", "getMediaChannel"]);
      reply(sock(), "joinSession", joined("en", false));
      await listening;
      expect(session.getSnapshot().phase).toBe("listening");
      expect(FakeMedia.all).toHaveLength(2);
      session.dispose();
    });

    it("shows a session that ended before the tap at once", async () => {
      const { session } = await preparedAhead("en", { sessionIsOpen: async () => false });
      reply(sock(), "joinSession", { type: "error", code: "SESSION_INACTIVE", message: "The session has ended." });
      await vi.advanceTimersByTimeAsync(0);
      expect(session.getSnapshot().phase).toBe("ended");
      expect(FakeMedia.all.every((m) => m.stopped)).toBe(true);
    });

    it("re-joins without speech after a reconnect before the tap", async () => {
      const { session, socket: first } = await preparedAhead("es");
      expect(first.sent.map((m) => [m.action, m.speech])).toEqual([["joinSession", false]]);
      reply(first, "joinSession", joined("es", false));
      await vi.advanceTimersByTimeAsync(0);
      first.drop(1006);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(sock()).not.toBe(first);
      sock().open();
      await vi.advanceTimersByTimeAsync(0);
      expect(sock().sent.find((m) => m.action === "joinSession")).toMatchObject({ targetLanguage: "es", speech: false, clientKey: "key-0123456789abcdef" });
      session.dispose();
    });
  });
});

describe("clientKeyFor", () => {
  it("keeps one key per tab and session", () => {
    const map = new Map<string, string>();
    const storage = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
    const key = clientKeyFor("quiet-harbor-042", storage);
    expect(key).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
    expect(clientKeyFor("quiet-harbor-042", storage)).toBe(key);
    expect(clientKeyFor("other-thing-001", storage)).not.toBe(key);
  });
});
