import { ButtonLink } from "@/components/ui/button";
import { Card } from "@/components/ui/card";

export type UnavailableReason = "invalid" | "unknown" | "ended" | "rate-limited";

const COPY: Record<UnavailableReason, { title: string; text: string }> = {
  invalid: { title: "That is not a session code", text: "Session codes look like quiet-harbor-042: two words and three digits." },
  unknown: { title: "No such session", text: "No session has this code, or it has expired. Check the code with the speaker." },
  ended: { title: "This session has ended", text: "The speaker ended the session. Thanks for listening." },
  "rate-limited": { title: "Too many tries", text: "This network looked up too many sessions. Wait a minute and try again." },
};

/** The listener page when there is nothing to listen to. */
export function SessionUnavailable({ reason, code }: { reason: UnavailableReason; code?: string }) {
  const copy = COPY[reason];
  return (
    <Card data-testid="session-unavailable" data-reason={reason} className="text-center">
      <h1 className="text-2xl font-bold text-slate-900">{copy.title}</h1>
      {code ? <p className="mt-2 font-mono text-sm text-slate-500 break-all">{code}</p> : null}
      <p className="mx-auto mt-3 max-w-md text-slate-600">{copy.text}</p>
      <div className="mt-6 flex justify-center">
        <ButtonLink href="/join" variant="secondary">
          Enter another code
        </ButtonLink>
      </div>
    </Card>
  );
}
