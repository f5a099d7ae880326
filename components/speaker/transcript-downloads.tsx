import { buttonClasses } from "@/components/ui/button";

/** Links to the session's transcript with its translations (owner only; the route checks the sign-in). */
export function TranscriptDownloads({ sessionId, className }: { sessionId: string; className?: string }) {
  const base = `/api/sessions/${encodeURIComponent(sessionId)}/transcript`;
  return (
    <div className={className ?? "flex flex-wrap items-center gap-2"} data-testid="transcript-downloads">
      <span className="text-sm text-slate-600">Transcript:</span>
      <a
        href={`${base}?format=txt`}
        download={`${sessionId}.txt`}
        className={buttonClasses("secondary", "md")}
        data-testid="transcript-download-txt"
      >
        Text (.txt)
      </a>
      <a
        href={`${base}?format=vtt`}
        download={`${sessionId}.vtt`}
        className={buttonClasses("secondary", "md")}
        data-testid="transcript-download-vtt"
      >
        Subtitles (.vtt)
      </a>
    </div>
  );
}
