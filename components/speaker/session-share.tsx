"use client";

import { useSyncExternalStore } from "react";
import { CopyButton } from "./copy-button";
import { QrCode } from "./qr-code";
import { onlyThisMachine, shareableJoinUrl, type LinkSource } from "./share-url";

const noSubscribe = () => () => undefined;

/** The session code, big; the join link with a copy button; the QR code. */
export function SessionShare({ sessionId, joinUrl, linkSource }: { sessionId: string; joinUrl: string; linkSource?: LinkSource }) {
  const origin = useSyncExternalStore(noSubscribe, () => window.location.origin, () => undefined);
  const link = shareableJoinUrl(joinUrl, origin, linkSource);
  return (
    <div className="flex flex-col items-center gap-5 sm:flex-row sm:items-start">
      <div className="flex max-w-56 flex-col items-center gap-2">
        <QrCode value={link} label={`QR code for ${link}`} />
        {onlyThisMachine(link) && (
          <p className="text-center text-xs text-amber-800" role="note" data-testid="join-url-loopback-note">
            {linkSource === "configured"
              ? "Only this computer can open this link: EARSHOT_PUBLIC_URL is a loopback address. Set it to an address phones can open."
              : "Only this computer can open this link: Earshot found no network address. Connect this computer to the audience's network and restart Earshot, or set EARSHOT_PUBLIC_URL."}
          </p>
        )}
      </div>
      <div className="flex w-full min-w-0 flex-col gap-3">
        <div>
          <p className="text-xs font-medium uppercase tracking-wide text-slate-500">Session code</p>
          <p className="font-mono text-2xl font-bold break-words text-slate-900 sm:text-4xl" data-testid="session-code">
            {sessionId}
          </p>
        </div>
        <div>
          <p className="text-xs font-medium uppercase tracking-wide text-slate-500">Join link</p>
          <a
            href={link}
            target="_blank"
            rel="noreferrer"
            className="block font-mono text-sm break-all text-brand-700 underline decoration-brand-600/30 underline-offset-2 select-all"
            data-testid="join-url"
          >
            {link}
          </a>
        </div>
        <div>
          <CopyButton text={link} testId="copy-join-url" />
        </div>
      </div>
    </div>
  );
}
