import { isLanguageCode, type LanguageCode } from "@/lib/core/languages";
import { ListenerSession } from "@/lib/client/session/listener-session";
import { clientKeyFor, type MediaModule } from "@/lib/client/session/listener-platform";
import type { ListenerPageConfig } from "./html";
import { bindView, listenFromTap, storedLanguage, whenIdle } from "./view";

/**
 * The listener page's script (built by scripts/build-listener.mjs into one
 * small IIFE, inlined in the page's <head>): a ListenerSession and the DOM
 * view over it.
 *
 * It runs in the head, before the body is parsed or laid out, so the Listen
 * tap works from the first paint on: on a phone's CPU the body's first style
 * and layout passes take hundreds of ms, and a script at the end of the body
 * (where it used to be) only ran after them, with the tap waiting. Here the
 * session is made at once; after the first frame it opens the control
 * channel (and, with connectAheadSeconds, joins and connects the audio); a
 * document-level listener takes a tap on Listen until the view is bound; the
 * view binds to the elements when the document is parsed. After the load
 * event the media module starts loading when the mode needs the speaker's
 * own voice.
 */

declare global {
  interface Window {
    /** For tests: the translated speech's output level and the seqs it played. */
    __earshotSpeech?: { rms(): number; played: readonly number[] };
  }
}

function start(): void {
  const raw = document.getElementById("earshot-listener-config")?.textContent;
  if (!raw) return;
  const config = JSON.parse(raw) as ListenerPageConfig;
  const offered = (l: string | undefined): l is LanguageCode => isLanguageCode(l) && config.offers.some((o) => o.language === l);
  // Storage is read only when needed: a page's first localStorage or sessionStorage access loads it through the
  // browser (tens of ms on a phone at 4x), before the first paint here. A ?lang= in the link wins anyway.
  const remembered = config.langFromUrl ? undefined : storedLanguage();
  const language: LanguageCode = offered(remembered) ? remembered : config.language;
  let key: string | undefined;
  const clientKey = (): string => (key ??= clientKeyFor(config.sessionId));

  let voicesWanted = false;
  const session = new ListenerSession({
    session: { sessionId: config.sessionId, title: config.title, sourceLanguage: config.sourceLanguage, listenerCount: config.listenerCount, offers: config.offers, live: config.live },
    language,
    wsUrl: config.wsUrl,
    maxConnectionSeconds: config.maxConnectionSeconds,
    clientKey,
    loadMedia: () => import(/* webpackIgnore: true */ config.mediaUrl) as Promise<MediaModule>,
    connectAheadSeconds: config.connectAheadSeconds,
    deviceVoices: () => (!voicesWanted || typeof speechSynthesis === "undefined" ? [] : speechSynthesis.getVoices().map((v) => v.lang)),
  });
  window.__earshotSpeech = { rms: () => session.speech.rms(), played: session.speech.played };
  window.addEventListener("pagehide", () => session.dispose());

  // A tap on Listen before the view is bound: taken here, at once (the button is in the server's HTML, enabled).
  let bound = false;
  const early = (event: Event): void => {
    if (!bound && event.target instanceof Element && event.target.closest("#listen-button")) listenFromTap(session);
  };
  document.addEventListener("click", early, true);
  performance.mark("earshot:ready");
  // The control channel (and, with connectAheadSeconds, the join and the audio connection) right after the first
  // frame: creating a WebSocket costs a throttled phone tens of ms, which the first paint need not wait for. A tap
  // before it opens the channel itself.
  requestAnimationFrame(() => setTimeout(() => session.prepare(), 0));
  whenIdle(() => void clientKey(), 2000);

  const bind = (): void => {
    bound = true;
    document.removeEventListener("click", early, true);
    bindView(session);
    // The device's voices ("read aloud" for captions-only languages) once the page is up: the first touch of
    // speechSynthesis starts the platform's speech service, which a phone pays for (tens of ms) while it starts.
    whenIdle(
      () => {
        voicesWanted = true;
        if (typeof speechSynthesis === "undefined") return;
        speechSynthesis.addEventListener?.("voiceschanged", () => session.refreshModes());
        session.refreshModes();
      },
      3000,
    );
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bind, { once: true });
  else bind();
  // The media module (when the mode needs the original) after the page's load: it never delays the first paint.
  if (document.readyState === "complete") session.preloadMedia();
  else window.addEventListener("load", () => session.preloadMedia(), { once: true });
}

start();
