/**
 * Where to send someone after sign-in: only a path on this site. Runtime-free
 * (the sign-in page checks on the server, the form again in the browser).
 *
 * The value is parsed the way a browser will resolve it, `new URL(value,
 * origin)` (which drops tabs and newlines and treats `\` as `/`), and kept
 * only if the result is on one of the allowed origins. What comes back is
 * rebuilt from the parsed URL: a path that cannot start with `//` and holds
 * no character a `Location` header refuses, so a redirect to it never fails.
 */

export const DEFAULT_AFTER_SIGNIN = "/speaker";

const MAX_LENGTH = 512;
/** Used only to resolve relative values; never part of the result. */
const PLACEHOLDER_ORIGIN = "http://earshot.invalid";

/**
 * A same-origin path (`/path?query#hash`) for `value`, or `fallback`.
 * `origins`: the site's own origins (absolute URLs on them are kept as their path).
 */
export function sameOriginPath(value: unknown, origins: readonly string[] = [], fallback = DEFAULT_AFTER_SIGNIN): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_LENGTH) return fallback;
  const allowed = new Set([PLACEHOLDER_ORIGIN]);
  for (const o of origins) {
    try {
      allowed.add(new URL(o).origin);
    } catch {
      // not an origin: ignore
    }
  }
  let url: URL;
  try {
    url = new URL(value, PLACEHOLDER_ORIGIN);
  } catch {
    return fallback;
  }
  if (!allowed.has(url.origin)) return fallback;
  const path = `${url.pathname}${url.search}${url.hash}`;
  // `/.//evil.example` parses to the path `//evil.example`, which a browser reads as another host.
  if (!path.startsWith("/") || path.startsWith("//") || !/^[\x21-\x7e]*$/.test(path)) return fallback;
  return path;
}
