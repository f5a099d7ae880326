/**
 * Languages a session can be spoken in and a listener can ask for.
 * Codes are ISO 639-1; the names are shown in pickers in their own language.
 */
export const LANGUAGES = {
  ar: { name: "Arabic", native: "العربية" },
  ca: { name: "Catalan", native: "Català" },
  de: { name: "German", native: "Deutsch" },
  en: { name: "English", native: "English" },
  eo: { name: "Esperanto", native: "Esperanto" },
  es: { name: "Spanish", native: "Español" },
  fr: { name: "French", native: "Français" },
  gl: { name: "Galician", native: "Galego" },
  hi: { name: "Hindi", native: "हिन्दी" },
  it: { name: "Italian", native: "Italiano" },
  ja: { name: "Japanese", native: "日本語" },
  ko: { name: "Korean", native: "한국어" },
  nl: { name: "Dutch", native: "Nederlands" },
  pl: { name: "Polish", native: "Polski" },
  pt: { name: "Portuguese", native: "Português" },
  ru: { name: "Russian", native: "Русский" },
  sv: { name: "Swedish", native: "Svenska" },
  tr: { name: "Turkish", native: "Türkçe" },
  uk: { name: "Ukrainian", native: "Українська" },
  zh: { name: "Chinese", native: "中文" },
} as const satisfies Record<string, { name: string; native: string }>;

export type LanguageCode = keyof typeof LANGUAGES;

export const LANGUAGE_CODES = Object.keys(LANGUAGES).sort() as LanguageCode[];

export function isLanguageCode(value: unknown): value is LanguageCode {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(LANGUAGES, value);
}
