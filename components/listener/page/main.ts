import { isLanguageCode, type LanguageCode } from "@/lib/core/languages";
import { ListenerSession, clientKeyFor, type MediaModule } from "@/lib/client/session/listener-session";
import type { ListenerPageConfig } from "./html";
import { bindView, storedLanguage } from "./view";

/**
 * The listener page's script (built by scripts/build-listener.mjs into one
 * small IIFE, inlined at the end of the page's HTML): a ListenerSession and
 * the DOM view over it. It opens the control channel at once (joining waits
 * for the tap), and after the load event starts loading the media module
 * when the mode needs the speaker's own voice. A tap that came before this ran (a tiny inline
 * handler in the page queued it) is taken now.
 */

declare global {
  interface Window {
    __earshotTaps?: number[];
    __earshotReady?: boolean;
    /** For tests: the translated speech's output level and the seqs it played. */
    __earshotSpeech?: { rms(): number; played: readonly number[] };
  }
}

function start(): void {
  const raw = document.getElementById("earshot-listener-config")?.textContent;
  if (!raw) return;
  const config = JSON.parse(raw) as ListenerPageConfig;
  const offered = (l: string | undefined): l is LanguageCode => isLanguageCode(l) && config.offers.some((o) => o.language === l);
  const remembered = storedLanguage();
  const language: LanguageCode = !config.langFromUrl && offered(remembered) ? remembered : config.language;

  let voicesWanted = false;
  const session = new ListenerSession({
    session: { sessionId: config.sessionId, title: config.title, sourceLanguage: config.sourceLanguage, listenerCount: config.listenerCount, offers: config.offers, live: config.live },
    language,
    wsUrl: config.wsUrl,
    maxConnectionSeconds: config.maxConnectionSeconds,
    clientKey: clientKeyFor(config.sessionId),
    loadMedia: () => import(/* webpackIgnore: true */ config.mediaUrl) as Promise<MediaModule>,
    deviceVoices: () => (!voicesWanted || typeof speechSynthesis === "undefined" ? [] : speechSynthesis.getVoices().map((v) => v.lang)),
  });
  bindView(session);
  // The device's voices ("read aloud" for captions-only languages) once the page is up: the first touch of
  // speechSynthesis starts the platform's speech service, which a phone pays for (tens of ms) while it starts.
  const whenIdle = window.requestIdleCallback ?? ((run: () => void) => setTimeout(run, 200));
  whenIdle(
    () => {
      voicesWanted = true;
      if (typeof speechSynthesis === "undefined") return;
      speechSynthesis.addEventListener?.("voiceschanged", () => session.refreshModes());
      session.refreshModes();
    },
    { timeout: 3000 },
  );
  window.__earshotSpeech = { rms: () => session.speech.rms(), played: session.speech.played };
  window.addEventListener("pagehide", () => session.dispose());

  // Taps before this script ran: take the first one now.
  window.__earshotReady = true;
  if (window.__earshotTaps?.length) {
    window.__earshotTaps = [];
    void session.listen();
  }
  session.prepare();
  performance.mark("earshot:ready");
  // The media module (when the mode needs the original) after the page's load: it never delays the first paint.
  if (document.readyState === "complete") session.preloadMedia();
  else window.addEventListener("load", () => session.preloadMedia(), { once: true });
}

start();
