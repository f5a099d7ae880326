/**
 * The languages the control-plane and churn benchmarks' listeners pick: the
 * source and the targets the local engines translate into. A session offers
 * only the languages its engines serve (docs/PROTOCOL.md, offers), and a join
 * in another is refused.
 */
export const BENCH_LANGUAGES = ["en", "es", "ca", "gl", "eo"] as const;
export type BenchLanguage = (typeof BENCH_LANGUAGES)[number];
/** What createSession asks to translate into. */
export const BENCH_TARGETS = BENCH_LANGUAGES.filter((l) => l !== "en");

/** The session must offer every language the listeners pick (the local engines installed). */
export function requireOffered(created: { offers?: { language: string }[] }, languages: readonly string[] = BENCH_LANGUAGES): void {
  const offered = new Set((created.offers ?? []).map((o) => o.language));
  const missing = languages.filter((l) => !offered.has(l));
  if (missing.length) throw new Error(`the session does not offer ${missing.join(", ")}: the local translation engines are needed (npm run speech:install)`);
}
