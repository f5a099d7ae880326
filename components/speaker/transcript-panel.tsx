import type { LanguageCode } from "@/lib/core/languages";
import type { RecognitionState } from "@/lib/client/speech/recognition";
import { LANGUAGES } from "@/lib/core/languages";

/**
 * What the recogniser heard: final segments (with the translations the
 * pipeline reported) and the current partial, newest at the bottom. A log
 * region, so screen readers announce new lines politely.
 */
export function TranscriptPanel({ state, targets }: { state: Pick<RecognitionState, "lines" | "partial">; targets: readonly LanguageCode[] }) {
  const lines = state.lines.slice(-30);
  return (
    <div
      role="log"
      aria-live="polite"
      aria-label="Live transcript"
      className="flex max-h-80 flex-col-reverse overflow-y-auto rounded-xl bg-slate-50 p-3 ring-1 ring-slate-200"
      data-testid="transcript-panel"
      data-lines={state.lines.length}
    >
      {/* column-reverse keeps the newest line in view without scripting the scroll */}
      <div className="flex flex-col gap-2">
        {lines.length === 0 && !state.partial ? (
          <p className="text-sm text-slate-500" data-testid="transcript-empty">
            What you say appears here as it is recognised.
          </p>
        ) : null}
        {lines.map((line) => (
          <div key={line.seq} className="text-sm" data-testid="transcript-line" data-seq={line.seq}>
            <p className="text-slate-900">
              <span className="mr-2 font-mono text-xs text-slate-400">{line.seq}</span>
              {line.text}
            </p>
            {targets.map((t) =>
              line.translations[t] ? (
                <p key={t} className="ml-6 text-slate-600" lang={t} data-testid="transcript-translation" data-lang={t}>
                  <span className="mr-2 text-xs font-medium uppercase text-slate-400" title={LANGUAGES[t].name}>
                    {t}
                  </span>
                  {line.translations[t]}
                </p>
              ) : null,
            )}
          </div>
        ))}
        {state.partial ? (
          <p className="text-sm italic text-slate-500" data-testid="transcript-partial" data-seq={state.partial.seq}>
            <span className="mr-2 font-mono text-xs not-italic text-slate-400">{state.partial.seq}</span>
            {state.partial.text}…
          </p>
        ) : null}
      </div>
    </div>
  );
}
