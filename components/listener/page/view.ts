import { createLevelMeter, meterFraction, resumeIfSuspended, type LevelMeter } from "@/lib/client/media/level";
import type { ListenerSession } from "@/lib/client/session/listener-session";
import type { ListenerState } from "@/lib/client/session/listener-state";
import { needsOriginal, type CaptionLine } from "@/lib/client/session/listener-state";
import { isLanguageCode } from "@/lib/core/languages";
import { CAPTION_CURRENT, CAPTION_LINE, CAPTION_PARTIAL, CAPTION_SIZES, CAPTION_SPEAKING, DOT, PILL, PLAYER_ICON, PLAYER_ICON_OFF, PLAYER_ICON_ON, PULSE, SPINNER, TONES, DEFAULT_CAPTION_SIZE, type CaptionSize } from "./classes";

/**
 * The listener page's minimal DOM view over a ListenerSession: the server
 * rendered every element (html.ts); this binds the controls to the session
 * and writes each published state into the elements (text, hidden,
 * data-state). The audio player section is added from a <template> from
 * the Listen tap on and removed when the listener is no longer in the
 * session (tests count it).
 */

const SIZE_KEY = "earshot.captionSize";
const LANGUAGE_KEY = "earshot.language";

function q<T extends Element = HTMLElement>(root: ParentNode, selector: string): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`listener page: ${selector} missing`);
  return el as T;
}

function store(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage blocked
  }
}

export function readStored(key: string): string | undefined {
  try {
    return localStorage.getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}

export function rememberLanguage(language: string): void {
  store(LANGUAGE_KEY, language);
}

export function storedLanguage(): string | undefined {
  return readStored(LANGUAGE_KEY);
}

const MEDIA_TEXT: Record<ListenerState["media"], string> = {
  idle: "Audio starts when the speaker goes live.",
  connecting: "Connecting to the audio…",
  live: "You are hearing the speaker.",
  reconnecting: "Reconnecting the audio…",
  failed: "The audio connection failed.",
};

function audioText(s: ListenerState): string {
  const silent = s.broadcast?.status === "paused" || s.broadcast?.muted === true;
  if (!needsOriginal(s.mode)) {
    if (silent) return "The speaker's audio is off for now.";
    if (!s.broadcast?.live) return "The translation starts when the speaker goes live.";
    if (s.mode === "device") return "Your device reads the captions aloud.";
    return s.speaking !== undefined ? "You are hearing the translation." : "The translation plays after each sentence.";
  }
  if (silent && s.media === "live") return "Connected. The speaker's audio is off for now.";
  if (!s.broadcast?.live && s.media !== "live") return MEDIA_TEXT.idle;
  if (s.mode === "mix" && s.media === "live") return "You hear the translation over the speaker, turned down.";
  return MEDIA_TEXT[s.media];
}

/**
 * The Listen tap, from the view's button or (before the view is bound) from
 * the page's first script: the language the picker shows, then the join; the
 * language is remembered after the tap's sends (a first storage access costs
 * a phone tens of ms).
 */
export function listenFromTap(session: ListenerSession, root: Document = document): void {
  const picked = root.querySelector<HTMLSelectElement>("#listener-language")?.value;
  const { language, offers } = session.getSnapshot();
  if (isLanguageCode(picked) && picked !== language && offers.some((o) => o.language === picked)) void session.changeLanguage(picked);
  void session.listen();
  const chosen = session.getSnapshot().language;
  setTimeout(() => rememberLanguage(chosen), 0);
}

export function bindView(session: ListenerSession, root: Document = document): void {
  const page = q(root, "#listener");
  const pill = q(root, '[data-testid="listener-state"]');
  const countLine = q(root, "#listener-count-line");
  const count = q(root, '[data-testid="listener-count"]');
  const countNoun = q(root, "#listener-count-noun");
  const select = q<HTMLSelectElement>(root, '[data-testid="language-select"]');
  const hint = q(root, '[data-testid="language-hint"]');
  const modeSet = q<HTMLFieldSetElement>(root, '[data-testid="listen-mode"]');
  const error = q(root, '[data-testid="listener-error"]');
  const ended = q(root, '[data-testid="session-ended"]');
  const listen = q<HTMLButtonElement>(root, '[data-testid="listen-button"]');
  const leave = q<HTMLButtonElement>(root, '[data-testid="leave-button"]');
  const slot = q(root, "#player-slot");
  const template = q<HTMLTemplateElement>(root, "#audio-player-template");
  const captionsCard = q(root, "#captions-card");
  const captions = q(root, '[data-testid="captions"]');
  const current = q(root, '[data-testid="caption-current"]');
  const history = q(root, '[data-testid="caption-history"]');
  const sizeSelect = q<HTMLSelectElement>(root, '[data-testid="caption-size"]');

  let player: HTMLElement | undefined;
  let mounting = false;
  let meter: { stream: MediaStream; meter: LevelMeter | undefined } | undefined;
  let raf = 0;
  let size: CaptionSize = DEFAULT_CAPTION_SIZE;
  // The remembered caption size when the page is idle: the first localStorage access loads it through the browser,
  // which a phone should not pay for while it starts (captions come after the join anyway).
  whenIdle(() => {
    const saved = readStored(SIZE_KEY);
    if (!saved || !(saved in CAPTION_SIZES) || saved === size) return;
    size = saved as CaptionSize;
    sizeSelect.value = size;
    render();
  });

  // Controls -> session
  listen.addEventListener("click", () => listenFromTap(session, root));
  leave.addEventListener("click", () => void session.leave());
  select.addEventListener("change", () => {
    const value = select.value;
    if (!isLanguageCode(value)) return;
    rememberLanguage(value);
    void session.changeLanguage(value);
  });
  modeSet.addEventListener("change", (e) => {
    const input = e.target as HTMLInputElement;
    if (input.name === "listen-mode") void session.setMode(input.value as ListenerState["mode"]);
  });
  sizeSelect.addEventListener("change", () => {
    size = sizeSelect.value in CAPTION_SIZES ? (sizeSelect.value as CaptionSize) : DEFAULT_CAPTION_SIZE;
    store(SIZE_KEY, size);
    render();
  });

  function mountPlayer(): HTMLElement {
    const fragment = template.content.cloneNode(true) as DocumentFragment;
    const el = fragment.firstElementChild as HTMLElement;
    q(el, '[data-testid="listener-mute"]').addEventListener("click", () => session.setMuted(!session.getSnapshot().muted));
    const volume = q<HTMLInputElement>(el, '[data-testid="listener-volume"]');
    volume.addEventListener("input", () => session.setVolume(Number(volume.value) / 100));
    q(el, '[data-testid="tap-to-play"]').addEventListener("click", () => session.playAfterBlock());
    q(el, '[data-testid="audio-retry"]').addEventListener("click", () => session.retryMedia());
    slot.appendChild(el);
    // The Listen button that had the focus is gone: keep keyboard and screen-reader users in the player. At the next
    // frame: focus() forces a layout, which a phone would pay for while it connects the audio.
    requestAnimationFrame(() => {
      if (el.isConnected && (root.activeElement === root.body || root.activeElement === null || root.activeElement === listen)) q<HTMLElement>(el, '[data-testid="listener-mute"]').focus();
    });
    return el;
  }

  function renderPlayer(s: ListenerState): void {
    const el = player;
    if (!el) return;
    data(el, "state", s.media);
    data(el, "mode", s.mode);
    const icon = q(el, "[data-icon]");
    const silent = s.broadcast?.status === "paused" || s.broadcast?.muted === true;
    const on = !silent && (s.media === "live" || s.speaking !== undefined);
    prop(icon, "className", `${PLAYER_ICON} ${on ? PLAYER_ICON_ON : PLAYER_ICON_OFF}`);
    icon.textContent = s.media === "live" || s.speaking !== undefined ? "♪" : "…";
    setText(q(el, '[data-testid="audio-state-text"]'), audioText(s));
    const speech = q(el, '[data-testid="speech-state"]');
    data(speech, "state", s.speaking !== undefined ? "speaking" : "idle");
    if (s.speaking !== undefined) speech.dataset.seq = String(s.speaking);
    else delete speech.dataset.seq;
    // The player shows that it is speaking (the line it speaks is highlighted in the captions).
    prop(speech, "hidden", s.speaking === undefined);
    setText(speech, s.speaking !== undefined ? "Speaking the highlighted line…" : "");
    prop(q(el, '[data-testid="tap-to-play"]'), "hidden", !s.audioBlocked);
    prop(q(el, '[data-testid="audio-error"]'), "hidden", s.media !== "failed");
    const mute = q(el, '[data-testid="listener-mute"]');
    setText(mute, s.muted ? "Unmute" : "Mute");
    attr(mute, "aria-pressed", String(s.muted));
    const volume = q<HTMLInputElement>(el, '[data-testid="listener-volume"]');
    const percent = Math.round(s.volume * 100);
    if (Number(volume.value) !== percent) volume.value = String(percent);
    prop(volume, "disabled", s.muted);
    attr(volume, "aria-valuetext", `${percent}%`);
    setText(q(el, "[data-volume-text]"), s.muted ? "off" : `${percent}%`);
  }

  function lineElement(line: CaptionLine): HTMLLIElement {
    const li = root.createElement("li");
    li.className = CAPTION_LINE;
    li.dataset.testid = "caption-line";
    li.dataset.seq = String(line.seq);
    li.textContent = line.text;
    return li;
  }

  let shownHistory: CaptionLine[] = [];
  function renderCaptions(s: ListenerState): void {
    prop(captionsCard, "hidden", !s.offer.captions);
    data(captions, "language", s.language);
    const line = s.captions.current;
    const speaking = line !== undefined && s.speaking === line.seq;
    prop(current, "className", `min-h-16 rounded-xl p-2 ${CAPTION_CURRENT} ${CAPTION_SIZES[size]}${line && !line.final ? ` ${CAPTION_PARTIAL}` : ""}${speaking ? ` ${CAPTION_SPEAKING}` : ""}`);
    if (line) {
      if (current.dataset.seq !== String(line.seq) || current.textContent !== line.text) current.textContent = line.text;
      data(current, "seq", String(line.seq));
      data(current, "final", String(line.final));
      prop(current, "lang", s.language);
    } else if (current.dataset.seq !== undefined) {
      current.textContent = "";
      delete current.dataset.seq;
    }
    if (speaking) current.dataset.speaking = "true";
    else delete current.dataset.speaking;
    // The scroll-back: only what changed (a screen reader is not told the list again).
    if (s.captions.history !== shownHistory) {
      const sameStart = shownHistory.length > 0 && s.captions.history[0] === shownHistory[0];
      if (!sameStart || s.captions.history.length < shownHistory.length) {
        history.replaceChildren(...s.captions.history.map(lineElement));
      } else {
        for (const l of s.captions.history.slice(shownHistory.length)) history.appendChild(lineElement(l));
      }
      // Others may have been inserted in order (a late final): rebuild when the shown order differs.
      if (history.children.length !== s.captions.history.length) history.replaceChildren(...s.captions.history.map(lineElement));
      // Reading scrollHeight forces a layout: only when there are lines to scroll to (never during the page's start).
      if (s.captions.history.length > 0 || shownHistory.length > 0) history.scrollTop = history.scrollHeight;
      shownHistory = s.captions.history;
    }
  }

  function render(): void {
    const s = session.getSnapshot();
    data(page, "phase", s.phase);
    data(pill, "state", s.status.state);
    const tone = TONES[s.status.tone === "neutral" || s.status.tone in TONES ? s.status.tone : "neutral"];
    prop(pill, "className", `${PILL} ${tone.pill}`);
    const dot = pill.firstElementChild as HTMLElement;
    prop(dot, "className", `${DOT} ${tone.dot}${s.status.pulse ? ` ${PULSE}` : ""}`);
    setText(q(pill, "[data-label]"), s.status.label);

    const joined = s.phase === "listening";
    prop(countLine, "hidden", !joined);
    setText(count, String(s.listenerCount));
    setText(countNoun, s.listenerCount === 1 ? "person" : "people");

    if (select.value !== s.language) select.value = s.language;
    prop(select, "disabled", s.switching || s.phase === "ended" || s.phase === "joining");
    setText(hint, s.switching ? "Switching…" : s.offer.voiceNote ? `Spoken with a ${s.offer.voiceNote.toLowerCase()}.` : "");
    prop(hint, "hidden", hint.textContent === "");

    prop(modeSet, "hidden", s.modes.length <= 1 || s.phase === "ended");
    prop(modeSet, "disabled", s.switching);
    for (const label of modeSet.querySelectorAll<HTMLElement>("[data-mode]")) {
      const mode = label.dataset.mode as ListenerState["mode"];
      prop(label, "hidden", !s.modes.includes(mode));
      const input = label.querySelector("input")!;
      prop(input, "checked", mode === s.mode);
    }

    prop(error, "hidden", !s.error);
    setText(error, s.error ?? "");
    prop(ended, "hidden", s.phase !== "ended");

    const showListen = s.phase === "ready" || s.phase === "left" || s.phase === "joining";
    prop(listen, "hidden", !showListen);
    prop(listen, "disabled", s.phase === "joining");
    attr(listen, "aria-busy", String(s.phase === "joining"));
    const label = s.phase === "joining" ? "Connecting…" : s.phase === "left" ? "Listen again" : "Listen";
    if (listen.textContent !== label) {
      if (s.phase === "joining") {
        const spin = root.createElement("span");
        spin.className = SPINNER;
        spin.setAttribute("aria-hidden", "true");
        listen.replaceChildren(spin, label);
      } else listen.textContent = label;
    }
    prop(leave, "hidden", !joined);

    // The player from the tap on (it says "Connecting…" until the audio is live), put in when the page is idle: its
    // first style and layout move the whole page below it (~0.25 s of a 4x phone's main thread), and the tap's
    // sends, the join's reply and the media grant go first. The button says "Connecting…" at once.
    const playing = joined || s.phase === "joining";
    if (playing && !player && !mounting) {
      mounting = true;
      whenIdle(() => {
        mounting = false;
        const now = session.getSnapshot();
        if (player || !(now.phase === "listening" || now.phase === "joining")) return;
        player = mountPlayer();
        render();
      }, 300);
    }
    if (!playing && player) {
      player.remove();
      player = undefined;
    }
    renderPlayer(s);
    renderCaptions(s);
    if (metering(s) && !raf) raf = requestAnimationFrame(tick);
  }

  // The level bar moves only while there is audio to meter: a per-frame loop makes the browser render every frame,
  // which a phone's CPU pays for while it is still connecting the audio (docs/BENCHMARKS.md, listener join).
  function metering(s: ListenerState): boolean {
    return s.phase === "listening" && player !== undefined && ((s.stream !== undefined && s.media === "live") || s.speaking !== undefined);
  }

  // The level bar: the original (an analyser on its stream) and the translated speech (the player's output bus).
  let lastLevel = -1;
  function tick(): void {
    raf = 0;
    const s = session.getSnapshot();
    if (!metering(s) || !player) {
      if (s.phase !== "listening" || !s.stream || s.media !== "live") {
        meter?.meter?.close();
        meter = undefined;
      }
      if (player && lastLevel !== 0) showLevel(player, 0);
      return;
    }
    if (s.stream !== meter?.stream) {
      meter?.meter?.close();
      meter = s.stream && s.media === "live" ? { stream: s.stream, meter: undefined } : undefined;
      // The analyser (and the page's AudioContext, when none exists yet) once the page is idle: creating an
      // AudioContext takes a phone's main thread about 0.5 s at 4x throttling, and the first audio should not wait.
      const pending = meter;
      if (pending) whenIdle(() => {
        if (meter === pending) pending.meter = createLevelMeter(pending.stream);
      });
    }
    const level = Math.max(meter?.meter?.read() ?? 0, session.speech.rms());
    if (Math.abs(level - lastLevel) > 0.0005) showLevel(player, level);
    raf = requestAnimationFrame(tick);
  }

  function showLevel(el: HTMLElement, level: number): void {
    lastLevel = level;
    const bar = q(el, '[data-testid="listener-level"]');
    const fraction = meterFraction(level);
    data(bar, "level", level.toFixed(3));
    attr(bar, "aria-valuenow", String(Math.round(fraction * 100)));
    (bar.firstElementChild as HTMLElement).style.transform = `scaleX(${fraction})`;
  }

  // A context made after the tap (the meter's) starts suspended where autoplay rules are strict (iOS Safari): any
  // later touch on the page may resume it.
  root.addEventListener("pointerdown", resumeIfSuspended, { capture: true, passive: true });

  // One render per frame, whatever number of state changes came before it: a join publishes several in a row (the
  // tap, the channel, the join's reply, the media), and rendering each at once made the tap's task and the join
  // reply's task each pay for DOM writes, while the media grant waited behind them. A page that gets no animation
  // frames (hidden, screen off, a window the browser does not draw) renders on a timer instead, so the DOM (and what
  // a screen reader announces) never stays behind the state.
  let scheduled = false;
  const flush = (): void => {
    if (!scheduled) return;
    scheduled = false;
    render();
  };
  session.subscribe(() => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(flush);
    setTimeout(flush, 100);
  });
  render();
}

/** Runs when the main thread is idle (at the latest after `timeoutMs`). */
export function whenIdle(run: () => void, timeoutMs = 1000): void {
  if (typeof requestIdleCallback === "function") requestIdleCallback(run, { timeout: timeoutMs });
  else setTimeout(run, Math.min(200, timeoutMs));
}

// Writes only what changed: on a phone every write, even of the same value, can cost a style invalidation, and the
// view renders on every state change (the first render, at the page's start, would otherwise restyle the whole page).
function prop<E extends HTMLElement, K extends keyof E & ("hidden" | "disabled" | "checked" | "className" | "lang")>(el: E, key: K, value: E[K]): void {
  if (el[key] !== value) el[key] = value;
}

function attr(el: Element, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

function data(el: HTMLElement, key: string, value: string): void {
  if (el.dataset[key] !== value) el.dataset[key] = value;
}

function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}
