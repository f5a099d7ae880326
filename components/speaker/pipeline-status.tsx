import type { LanguageCode } from "@/lib/core/languages";
import type { LanguageDistribution } from "@/lib/core/protocol";
import type { LanguageOffer } from "@/lib/core/speech";
import type { RecognitionState, RecognitionStatus, RecognizerChoice } from "@/lib/client/speech/recognition";
import { StatusPill, type Tone } from "@/components/ui/status-pill";
import { languageLabel } from "@/components/shared/language-options";
import { describeOffer } from "./speech-info";

const ENGINE_NAMES = { local: "this server's recogniser", aws: "Amazon Transcribe", browser: "your browser's recogniser" } as const;

function recognizerView(status: RecognitionStatus): { label: string; tone: Tone; detail?: string } {
  switch (status.status) {
    case "listening":
      return { label: "Listening", tone: "success", detail: `Recognising with ${ENGINE_NAMES[status.engine]}.` };
    case "connecting":
      return { label: "Connecting", tone: "info", detail: `Connecting to ${ENGINE_NAMES[status.engine]}…` };
    case "error":
      return { label: status.retrying ? "Reconnecting" : "Error", tone: "danger", detail: status.message };
    default:
      return { label: "Not listening", tone: "neutral", detail: status.reason };
  }
}

function ms(value: number | undefined): string {
  if (value === undefined) return "–";
  return value < 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value / 1000)} s`;
}

export interface PipelineStatusProps {
  state: RecognitionState;
  offers: readonly LanguageOffer[];
  byLanguage: LanguageDistribution;
  /** Where the browser has a recogniser: the speaker may switch to it. */
  webSpeech: boolean;
  onChoice: (choice: RecognizerChoice) => void;
}

/**
 * The translation pipeline while live: the recogniser (listening, or the
 * error), and per language its listeners, how many get synthesized speech,
 * the last caption and speech lag (from the end of the phrase to sending),
 * whether speech is being produced, and any engine error.
 */
export function PipelineStatus({ state, offers, byLanguage, webSpeech, onChoice }: PipelineStatusProps) {
  const view = recognizerView(state.recognizer);
  const source = offers.find((o) => o.kind === "source");
  const targets = offers.filter((o) => o.kind !== "source");
  return (
    <div className="flex flex-col gap-4" data-testid="pipeline-status">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div className="flex min-w-0 items-center gap-3">
          <span className="text-sm font-medium text-slate-800">Speech recognition</span>
          <StatusPill tone={view.tone} state={state.recognizer.status} pulse={state.recognizer.status === "listening"} data-testid="recognizer-state" role="status" aria-live="polite">
            {view.label}
          </StatusPill>
        </div>
        <span className="text-sm text-slate-600" data-testid="segments-submitted" data-count={state.submitted}>
          {state.submitted} {state.submitted === 1 ? "segment" : "segments"}
        </span>
      </div>
      {view.detail ? (
        <p className={state.recognizer.status === "error" ? "text-sm text-red-700" : "text-sm text-slate-600"} data-testid="recognizer-detail">
          {view.detail}
        </p>
      ) : null}
      {state.submitError ? (
        <p className="text-sm text-red-700" data-testid="submit-error">
          A segment was refused: {state.submitError}
        </p>
      ) : null}
      {webSpeech ? (
        <label className="flex items-start gap-3 text-sm text-slate-700">
          <input
            type="checkbox"
            className="mt-0.5 size-4 accent-sky-600"
            checked={state.choice === "browser"}
            onChange={(e) => onChoice(e.target.checked ? "browser" : "server")}
            data-testid="web-speech-toggle"
          />
          <span>
            Use my browser&apos;s speech recognition
            <span className="block text-slate-500">Instead of the server&apos;s. Your browser may send the audio to its maker&apos;s service.</span>
          </span>
        </label>
      ) : null}

      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm" data-testid="language-status-table">
          <caption className="sr-only">Listeners and translation per language</caption>
          <thead className="text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th scope="col" className="py-2 pr-3 font-medium">
                Language
              </th>
              <th scope="col" className="py-2 pr-3 font-medium">
                Listeners
              </th>
              <th scope="col" className="py-2 pr-3 font-medium">
                Caption lag
              </th>
              <th scope="col" className="py-2 pr-3 font-medium">
                Speech
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {source ? (
              <tr data-testid="language-status" data-lang={source.language} data-kind="source">
                <th scope="row" className="py-2 pr-3 font-normal">
                  <span className="font-medium text-slate-900">{languageLabel(source.language)}</span>
                  <span className="block text-xs text-slate-500">{describeOffer(source)}</span>
                </th>
                <td className="py-2 pr-3 tabular-nums" data-testid="language-listeners">
                  {byLanguage[source.language] ?? 0}
                </td>
                <td className="py-2 pr-3 tabular-nums" data-testid="caption-lag">
                  {ms(state.pipeline[source.language]?.captionLagMs)}
                </td>
                <td className="py-2 pr-3 text-slate-500">Your voice</td>
              </tr>
            ) : null}
            {targets.map((offer) => {
              const p = state.pipeline[offer.language];
              const listeners = byLanguage[offer.language] ?? 0;
              return (
                <tr
                  key={offer.language}
                  data-testid="language-status"
                  data-lang={offer.language}
                  data-kind={offer.kind}
                  data-error={p?.error ? p.error.code : undefined}
                  data-speech={p?.speechProduced ? "produced" : "none"}
                >
                  <th scope="row" className="py-2 pr-3 font-normal">
                    <span className="font-medium text-slate-900">{languageLabel(offer.language as LanguageCode)}</span>
                    <span className="block text-xs text-slate-500">{describeOffer(offer)}</span>
                    {p?.error ? (
                      <span className="mt-1 block text-xs text-red-700" role="alert" data-testid="language-error">
                        {p.error.message}
                      </span>
                    ) : null}
                  </th>
                  <td className="py-2 pr-3 tabular-nums" data-testid="language-listeners">
                    {listeners}
                    {p && p.speechListeners > 0 ? <span className="block text-xs text-slate-500">{p.speechListeners} with speech</span> : null}
                  </td>
                  <td className="py-2 pr-3 tabular-nums" data-testid="caption-lag">
                    {listeners === 0 && !p ? <span className="text-slate-400">no listeners</span> : ms(p?.captionLagMs)}
                  </td>
                  <td className="py-2 pr-3 tabular-nums" data-testid="speech-lag">
                    {offer.kind !== "voice" ? (
                      <span className="text-slate-400">captions only</span>
                    ) : p?.speechProduced ? (
                      <span className="text-emerald-700">{ms(p.speechLagMs)}</span>
                    ) : (
                      <span className="text-slate-400">{p && p.speechListeners > 0 ? "not produced" : "none"}</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
