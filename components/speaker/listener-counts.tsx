import type { LanguageDistribution } from "@/lib/core/protocol";
import { LANGUAGE_CODES } from "@/lib/core/languages";
import { languageLabel } from "@/components/shared/language-options";

/** Live listener count, total and per language (from sessionStatus pushes). */
export function ListenerCounts({ total, byLanguage, originalListeners }: { total: number; byLanguage: LanguageDistribution; originalListeners?: number }) {
  const rows = LANGUAGE_CODES.map((code) => [code, byLanguage[code] ?? 0] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  return (
    <div aria-live="polite">
      <p className="flex items-baseline gap-2">
        <span className="text-4xl font-bold tabular-nums text-slate-900" data-testid="listener-count-total">
          {total}
        </span>
        <span className="text-slate-600">{total === 1 ? "listener" : "listeners"}</span>
      </p>
      {originalListeners !== undefined && total > 0 ? (
        <p className="mt-1 text-sm text-slate-600" data-testid="listener-count-original" data-count={originalListeners}>
          <span>
          {originalListeners} connected to your voice</span>
        </p>
      ) : null}
      {rows.length ? (
        <ul className="mt-3 divide-y divide-slate-100 rounded-xl ring-1 ring-slate-200" data-testid="listener-counts">
          {rows.map(([code, n]) => (
            <li key={code} className="flex items-center justify-between px-3 py-2 text-sm">
              <span className="text-slate-700">{languageLabel(code)}</span>
              <span className="font-semibold tabular-nums text-slate-900" data-testid={`listener-count-${code}`}>
                {n}
              </span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="mt-2 text-sm text-slate-500">No one is listening yet. Share the code or the QR code.</p>
      )}
    </div>
  );
}
