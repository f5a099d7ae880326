import { LANGUAGES, type LanguageCode } from "@/lib/core/languages";
import type { LanguageOffer } from "@/lib/core/speech";
import { MODE_LABELS, modesFor, needsOriginal, offerFor, offerLabel, statusOf, type ListenMode } from "@/lib/client/session/listener-state";
import { ALERT, BUTTON, CAPTION_CURRENT, CAPTION_SIZES, CARD, CONTROL, DEFAULT_CAPTION_SIZE, DOT, PILL, PLAYER_ICON, PLAYER_ICON_OFF, TONES } from "./classes";

/**
 * The listener page as HTML, rendered by the server (app/join/[sessionId]/route.ts):
 * everything a phone shows before any script ran (title, language picker with
 * what each language gives, listening modes, the Listen button, captions
 * panel), plus the page's CSS and script inline, so one response is the
 * whole first load. The script (main.ts) binds to the elements by id and
 * data-testid. No React: see docs/BENCHMARKS.md "Listener page".
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** JSON inside a <script> element: nothing in it may close the element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** "Deutsch (German)"; the English name alone where they are the same. */
export function languageLabel(code: LanguageCode): string {
  const { name, native } = LANGUAGES[code];
  return native === name ? name : `${native} (${name})`;
}

export interface ListenerPageConfig {
  sessionId: string;
  title: string;
  sourceLanguage: LanguageCode;
  listenerCount: number;
  offers: LanguageOffer[];
  /** The language the page starts in (from ?lang=, else the source; the script may take the remembered one). */
  language: LanguageCode;
  wsUrl?: string;
  maxConnectionSeconds?: number;
  /** URL of the media module (WebRTC viewer, KVS SDK), loaded with import() when a mode needs it. */
  mediaUrl: string;
  /** The speaker's media was up when the page was rendered (paused or not, as `broadcastState.live`): the Listen tap connects the audio at once, beside the join. */
  live: boolean;
  /** The URL's ?lang= was given (it wins over the remembered language). */
  langFromUrl: boolean;
  /** The page joins and connects the audio before the Listen tap, for this long (0: not before the tap). */
  connectAheadSeconds: number;
}

interface Shell {
  title: string;
  css: string;
  /** More elements at the end of <head>. */
  head?: string;
  body: string;
}

function shell({ title, css, head = "", body }: Shell): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="theme-color" content="#4338ca"><meta name="referrer" content="no-referrer"><meta name="description" content="A speaker talks; listeners hear them live in their browser. No app, no account for listeners."><title>${escapeHtml(title)} · Earshot</title><style>${css}</style>${head}</head><body class="min-h-dvh"><a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:z-50 focus:rounded-lg focus:bg-white focus:px-4 focus:py-2 focus:shadow">Skip to content</a><header class="border-b border-slate-200 bg-white/80 backdrop-blur"><nav aria-label="Main" class="mx-auto flex max-w-3xl items-center justify-between px-4 py-3"><a href="/" class="flex items-center gap-2 text-lg font-bold tracking-tight text-slate-900"><span aria-hidden="true" class="grid size-8 place-items-center rounded-lg bg-brand-600 text-white">◖</span>Earshot</a><div class="flex items-center gap-1 text-sm font-medium"><a href="/join" class="rounded-lg px-3 py-2 text-slate-700 hover:bg-slate-100">Listen</a><a href="/speaker" class="rounded-lg px-3 py-2 text-slate-700 hover:bg-slate-100">Speak</a></div></nav></header><main id="main" class="mx-auto w-full max-w-3xl px-4 py-6 sm:py-10">${body}</main></body></html>`;
}

function modeRadios(modes: ListenMode[], mode: ListenMode): string {
  return (["translation", "mix", "original", "device"] as const)
    .map(
      (m) =>
        `<label class="flex min-h-11 cursor-pointer items-center gap-3 rounded-xl px-3 py-2 ring-1 ring-inset ring-slate-200 has-[:checked]:bg-brand-50 has-[:checked]:ring-brand-600"${modes.includes(m) ? "" : " hidden"} data-mode="${m}"><input type="radio" name="listen-mode" value="${m}" class="size-4 accent-brand-600" data-testid="mode-${m}"${m === mode ? " checked" : ""}><span class="text-sm font-medium text-slate-900">${escapeHtml(MODE_LABELS[m])}</span></label>`,
    )
    .join("");
}

/** The listener page for a session that can be listened to. */
export function renderListenerPage(config: ListenerPageConfig, assets: { css: string; js: string; mediaFiles?: readonly string[] }): string {
  const offer = offerFor(config.offers, config.language);
  const modes = modesFor(offer);
  const mode = modes[0]!;
  const status = statusOf({ phase: "ready", connection: "closed", media: "idle", mode });
  const tone = TONES[status.tone];
  const options = [...config.offers]
    .sort((a, b) => (a.kind === "source" ? -1 : b.kind === "source" ? 1 : LANGUAGES[a.language].name.localeCompare(LANGUAGES[b.language].name)))
    .map(
      (o) =>
        `<option value="${o.language}"${o.language === config.language ? " selected" : ""}>${escapeHtml(`${languageLabel(o.language)} · ${offerLabel(offerFor(config.offers, o.language))}`)}</option>`,
    )
    .join("");
  const title = config.title || "Untitled session";
  const body = `<div class="mx-auto flex max-w-xl flex-col gap-5" id="listener" data-phase="ready">
<section class="${CARD}"><div class="flex flex-col gap-3"><div class="flex flex-wrap items-center justify-between gap-2"><p class="text-xs font-medium uppercase tracking-wide text-slate-500">Listening to</p><span data-testid="listener-state" role="status" aria-live="polite" data-state="${status.state}" class="${PILL} ${tone.pill}"><span aria-hidden="true" class="${DOT} ${tone.dot}"></span><span data-label>${escapeHtml(status.label)}</span></span></div><div class="min-w-0"><h1 class="text-2xl font-bold break-words text-slate-900" data-testid="session-title">${escapeHtml(title)}</h1><p class="mt-1 font-mono text-sm text-slate-500" data-testid="session-code">${escapeHtml(config.sessionId)}</p></div><p class="text-sm text-slate-600" id="listener-count-line" hidden><span data-testid="listener-count" class="font-semibold text-slate-900">${config.listenerCount}</span> <span id="listener-count-noun">${config.listenerCount === 1 ? "person" : "people"}</span> listening</p></div></section>
<section class="${CARD}"><div class="flex flex-col gap-5">
<div class="flex flex-col gap-1.5"><label for="listener-language" class="text-sm font-medium text-slate-800">Your language</label><select id="listener-language" class="${CONTROL}" data-testid="language-select" aria-describedby="listener-language-hint">${options}</select><p id="listener-language-hint" class="text-sm text-slate-600" data-testid="language-hint"></p></div>
${config.offers.length <= 1 && !config.offers[0]?.captions ? `<p class="rounded-xl bg-sky-50 px-4 py-3 text-sm text-sky-900 ring-1 ring-inset ring-sky-200" role="note" data-testid="translation-off">This session has no live captions or translation: you hear the speaker's own voice.</p>` : ""}
<fieldset class="flex flex-col gap-2" id="listen-mode" role="radiogroup" data-testid="listen-mode"${modes.length > 1 ? "" : " hidden"}><legend class="mb-1.5 text-sm font-medium text-slate-800">What you hear</legend>${modeRadios(modes, mode)}</fieldset>
<div role="alert" class="${ALERT}" data-testid="listener-error" hidden></div>
<div class="flex flex-col items-center gap-4 py-2 text-center" data-testid="session-ended" hidden><p class="text-slate-700">The speaker ended this session. Thanks for listening.</p><a href="/join" class="${BUTTON.secondary}">Join another session</a></div>
<div id="player-slot" class="flex flex-col gap-5"></div>
<button type="button" class="${BUTTON.primaryXl}" data-testid="listen-button" id="listen-button">Listen</button>
<button type="button" class="${BUTTON.secondaryLg}" data-testid="leave-button" id="leave-button" hidden>Leave</button>
</div></section>
<section class="${CARD}" aria-labelledby="captions-title" id="captions-card"${offer.captions ? "" : " hidden"}><div class="mb-3 flex items-center justify-between gap-3"><h2 id="captions-title" class="text-lg font-semibold text-slate-900">Captions</h2><label class="flex items-center gap-2 text-sm text-slate-600">Text size<select id="caption-size" data-testid="caption-size" class="rounded-lg border-0 bg-white px-2 py-1 text-sm ring-1 ring-inset ring-slate-300">${(Object.keys(CAPTION_SIZES) as (keyof typeof CAPTION_SIZES)[]).map((s) => `<option value="${s}"${s === DEFAULT_CAPTION_SIZE ? " selected" : ""}>${s.toUpperCase()}</option>`).join("")}</select></label></div><div data-testid="captions" aria-live="polite" aria-atomic="false" data-language="${config.language}"><p data-testid="caption-current" class="min-h-16 rounded-xl p-2 ${CAPTION_CURRENT} ${CAPTION_SIZES[DEFAULT_CAPTION_SIZE]}" data-final="true"><span class="text-base font-normal text-slate-500">Captions appear here when the speaker talks.</span></p></div><details class="mt-3" id="caption-scrollback"><summary class="cursor-pointer text-sm font-medium text-slate-700">Earlier lines</summary><ol class="mt-2 flex max-h-72 flex-col gap-2 overflow-y-auto" data-testid="caption-history" aria-label="Earlier captions"></ol></details></section>
</div>
<template id="audio-player-template"><section aria-label="Audio" data-testid="audio-player" data-state="idle" class="flex flex-col gap-4 rounded-xl bg-slate-50 p-4 ring-1 ring-slate-200"><div class="flex items-center gap-3"><span aria-hidden="true" class="${PLAYER_ICON} ${PLAYER_ICON_OFF}" data-icon>…</span><div class="min-w-0 flex-1"><p class="text-sm font-medium text-slate-900" data-testid="audio-state-text" aria-live="polite"></p><div class="mt-2 h-2 overflow-hidden rounded-full bg-slate-200" role="meter" aria-label="Audio level" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0" data-testid="listener-level" data-level="0.000"><div class="h-full w-full origin-left rounded-full bg-emerald-600" style="transform:scaleX(0)"></div></div></div></div><p class="text-sm text-slate-600" data-testid="speech-state" data-state="idle" hidden></p><button type="button" class="${BUTTON.primaryXl}" data-testid="tap-to-play" hidden>Tap to play audio</button><div role="alert" class="${ALERT}" data-testid="audio-error" hidden><div class="flex flex-wrap items-center justify-between gap-3"><span>The audio connection could not be restored.</span><button type="button" class="${BUTTON.secondary}" data-testid="audio-retry">Try again</button></div></div><div class="flex items-center gap-3"><button type="button" class="${BUTTON.secondary} w-28 shrink-0" aria-pressed="false" data-testid="listener-mute">Mute</button><label for="listener-volume" class="sr-only">Volume</label><input id="listener-volume" type="range" min="0" max="100" step="1" value="100" aria-valuetext="100%" class="h-11 w-full cursor-pointer accent-brand-600 disabled:cursor-not-allowed disabled:opacity-50" data-testid="listener-volume"><span aria-hidden="true" class="w-10 text-right text-sm tabular-nums text-slate-600" data-volume-text>100%</span></div></section></template>`;
  // The script runs in the head, before the body's first style and layout (a phone's CPU spends hundreds of ms
  // there): the Listen tap works from the first paint on, and the view binds once the body is parsed (main.ts).
  const script = `<script type="application/json" id="earshot-listener-config">${scriptJson(config)}</script><script>${assets.js}</script>`;
  // The page starts in a mode that needs the speaker's own voice: the browser fetches the media module while it
  // parses the page, so the tap does not wait for it (it is evaluated only when imported).
  const preload = needsOriginal(mode) ? (assets.mediaFiles ?? []).map((f) => `<link rel="modulepreload" href="/join/assets/${encodeURI(f)}">`).join("") : "";
  return shell({ title: "Listen", css: assets.css, head: preload + script, body });
}

export type UnavailableReason = "invalid" | "unknown" | "ended" | "rate-limited";

const UNAVAILABLE: Record<UnavailableReason, { title: string; text: string }> = {
  invalid: { title: "That is not a session code", text: "Session codes look like quiet-harbor-042: two words and three digits." },
  unknown: { title: "No such session", text: "No session has this code, or it has expired. Check the code with the speaker." },
  ended: { title: "This session has ended", text: "The speaker ended the session. Thanks for listening." },
  "rate-limited": { title: "Too many tries", text: "This network looked up too many sessions. Wait a minute and try again." },
};

/** The listener page when there is nothing to listen to (no script at all). */
export function renderUnavailablePage(reason: UnavailableReason, code: string | undefined, assets: { css: string }): string {
  const copy = UNAVAILABLE[reason];
  const body = `<section class="${CARD} text-center" data-testid="session-unavailable" data-reason="${reason}"><h1 class="text-2xl font-bold text-slate-900">${escapeHtml(copy.title)}</h1>${code ? `<p class="mt-2 font-mono text-sm text-slate-500 break-all">${escapeHtml(code)}</p>` : ""}<p class="mx-auto mt-3 max-w-md text-slate-600">${escapeHtml(copy.text)}</p><div class="mt-6 flex justify-center"><a href="/join" class="${BUTTON.secondary}">Enter another code</a></div></section>`;
  return shell({ title: "Listen", css: assets.css, body });
}
