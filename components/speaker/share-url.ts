const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/**
 * The join link to show and encode in the QR code. When the server only
 * knows itself as localhost (no EARSHOT_PUBLIC_URL) but the speaker opened
 * the page by a LAN name or address, phones cannot open a localhost link, so
 * the page's own origin is used instead.
 */
export function shareableJoinUrl(joinUrl: string, pageOrigin: string | undefined): string {
  if (!pageOrigin) return joinUrl;
  try {
    const link = new URL(joinUrl);
    const page = new URL(pageOrigin);
    if (LOOPBACK.has(link.hostname) && !LOOPBACK.has(page.hostname)) return `${page.origin}${link.pathname}${link.search}`;
  } catch {
    // not a URL: show it as it is
  }
  return joinUrl;
}
