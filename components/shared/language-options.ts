import { LANGUAGES, LANGUAGE_CODES, type LanguageCode } from "@/lib/core/languages";
import type { SelectOption } from "@/components/ui/select";

/** "Deutsch (German)"; the English name alone where they are the same. */
export function languageLabel(code: LanguageCode): string {
  const { name, native } = LANGUAGES[code];
  return native === name ? name : `${native} (${name})`;
}

export function languageOptions(codes: readonly LanguageCode[] = LANGUAGE_CODES): SelectOption[] {
  return [...codes].sort((a, b) => LANGUAGES[a].name.localeCompare(LANGUAGES[b].name)).map((code) => ({ value: code, label: languageLabel(code) }));
}
