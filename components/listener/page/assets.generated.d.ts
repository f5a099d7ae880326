// Types of assets.generated.js, which scripts/build-listener.mjs writes before every `next build`.
/** The listener page's script (one minified IIFE), inlined in its HTML. */
export declare const LISTENER_JS: string;
/** The listener page's CSS (Tailwind, built from its own files), inlined in its HTML. */
export declare const LISTENER_CSS: string;
/** File name of the media module's entry (under /join/assets/). */
export declare const MEDIA_ENTRY: string;
/** The media module's ES module files by name (entry and chunks). */
export declare const MEDIA_FILES: Record<string, string>;
/** What import() of the entry loads at once: the entry and its static imports (names in MEDIA_FILES). */
export declare const MEDIA_PRELOAD: readonly string[];
