import { isLoopbackHost } from "@/lib/core/hosts";

/** Where the server's join link base came from (Config.publicUrlSource). */
export type LinkSource = "configured" | "network" | "loopback";

/**
 * The join link to show and encode in the QR code. A link the operator
 * configured (EARSHOT_PUBLIC_URL) is kept, unless it is a localhost link and
 * the page was opened by another name. A link the embedded runtime chose
 * itself (its LAN address, or localhost when it has none) gives way to the
 * host the speaker's browser used when that is not a loopback address: the
 * audience is on the network the speaker reached the server through.
 */
export function shareableJoinUrl(joinUrl: string, pageOrigin: string | undefined, source: LinkSource = "configured"): string {
  if (!pageOrigin) return joinUrl;
  try {
    const link = new URL(joinUrl);
    const page = new URL(pageOrigin);
    const chosenByServer = source !== "configured";
    if (!isLoopbackHost(page.hostname) && (chosenByServer || isLoopbackHost(link.hostname))) return `${page.origin}${link.pathname}${link.search}`;
  } catch {
    // not a URL: show it as it is
  }
  return joinUrl;
}

/** True when only this machine can open the link (phones cannot). */
export function onlyThisMachine(link: string): boolean {
  try {
    return isLoopbackHost(new URL(link).hostname);
  } catch {
    return false;
  }
}
