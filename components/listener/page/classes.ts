/**
 * Tailwind classes of the listener page, shared by the server's HTML
 * (html.ts) and the script's DOM updates (view.ts). The same look as the
 * components in components/ui (button.tsx, card.tsx, status-pill.tsx,
 * field.tsx, alert.tsx, level-meter.tsx), written out as strings because this
 * page ships no React. The page's CSS is built from these files only
 * (scripts/build-listener.mjs), so every class the page uses must appear here
 * or in html.ts / view.ts as a whole word.
 */

const buttonBase =
  "inline-flex items-center justify-center gap-2 rounded-xl font-semibold transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 disabled:cursor-not-allowed disabled:opacity-50 select-none";

export const BUTTON = {
  primaryXl: `${buttonBase} bg-brand-600 text-white hover:bg-brand-700 focus-visible:outline-brand-600 shadow-sm min-h-16 px-8 text-xl w-full`,
  secondaryLg: `${buttonBase} bg-white text-slate-900 ring-1 ring-inset ring-slate-300 hover:bg-slate-100 focus-visible:outline-brand-600 min-h-12 px-5 text-base`,
  secondary: `${buttonBase} bg-white text-slate-900 ring-1 ring-inset ring-slate-300 hover:bg-slate-100 focus-visible:outline-brand-600 min-h-11 px-4 text-sm`,
} as const;

export const CARD = "rounded-2xl bg-white p-5 shadow-sm ring-1 ring-slate-200 sm:p-6";

export const CONTROL =
  "block w-full min-h-11 rounded-xl border-0 bg-white px-3.5 py-2.5 text-base text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-inset focus:ring-brand-600 disabled:bg-slate-100 disabled:text-slate-500 appearance-auto pr-8";

export const ALERT = "rounded-xl px-4 py-3 text-sm ring-1 ring-inset bg-red-50 text-red-800 ring-red-200";

export const SPINNER = "inline-block size-4 animate-spin rounded-full border-2 border-current border-r-transparent";

export const PILL = "inline-flex items-center gap-2 rounded-full px-3 py-1 text-sm font-medium ring-1 ring-inset whitespace-nowrap";

export const TONES = {
  neutral: { pill: "bg-slate-100 text-slate-700 ring-slate-300", dot: "bg-slate-400" },
  info: { pill: "bg-sky-50 text-sky-800 ring-sky-200", dot: "bg-sky-500" },
  warning: { pill: "bg-amber-50 text-amber-900 ring-amber-200", dot: "bg-amber-500" },
  danger: { pill: "bg-red-50 text-red-800 ring-red-200", dot: "bg-red-500" },
  live: { pill: "bg-red-600 text-white ring-red-700", dot: "bg-white" },
} as const;

export const DOT = "size-2 rounded-full";
export const PULSE = "animate-pulse";

/** The current caption line at each text size (a phone held at arm's length: large by default). */
export const CAPTION_SIZES = {
  s: "text-lg",
  m: "text-2xl",
  l: "text-3xl",
  xl: "text-4xl",
} as const;
export type CaptionSize = keyof typeof CAPTION_SIZES;
export const DEFAULT_CAPTION_SIZE: CaptionSize = "m";

export const CAPTION_CURRENT = "font-semibold leading-snug text-slate-900 break-words";
export const CAPTION_SPEAKING = "bg-brand-50 ring-2 ring-brand-600";
export const CAPTION_PARTIAL = "text-slate-500";
export const CAPTION_LINE = "text-base leading-relaxed text-slate-700";

export const PLAYER_ICON = "grid size-10 shrink-0 place-items-center rounded-full text-lg";
export const PLAYER_ICON_ON = "bg-red-600 text-white";
export const PLAYER_ICON_OFF = "bg-slate-200 text-slate-600";
