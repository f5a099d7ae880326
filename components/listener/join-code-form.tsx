"use client";

import { useRouter } from "next/navigation";
import { useId, useState, type FormEvent } from "react";
import { normalizeSessionId } from "@/lib/core/session-id";
import type { PublicSessionInfo } from "@/lib/server/http/dto";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";

/** What people type, tidied as they type: lower case, spaces as hyphens. */
function tidy(value: string): string {
  return value.toLowerCase().replace(/\s+/g, "-").replace(/[^a-z0-9-]/g, "").slice(0, 24);
}

async function describeFailure(response: Response): Promise<string> {
  const body = (await response.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
  switch (body?.error?.code) {
    case "SESSION_NOT_FOUND":
      return "No session has that code. Check it with the speaker.";
    case "INVALID_SESSION_ID":
      return "Session codes look like quiet-harbor-042.";
    case "RATE_LIMIT_EXCEEDED": {
      const wait = response.headers.get("Retry-After");
      return `Too many tries. Wait ${wait ? `${wait} seconds` : "a minute"} and try again.`;
    }
    default:
      return body?.error?.message ?? "Something went wrong. Try again.";
  }
}

/** Join by code: checks the code's shape as you type, asks the server, then opens the session's page. */
export function JoinCodeForm({ autoFocus }: { autoFocus?: boolean }) {
  const router = useRouter();
  const id = useId();
  const [value, setValue] = useState("");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const sessionId = normalizeSessionId(value);
  const shapeError = touched && value !== "" && !sessionId ? "Session codes look like quiet-harbor-042." : undefined;

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setTouched(true);
    if (!sessionId) {
      setError(value ? undefined : "Type the session code.");
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const response = await fetch(`/api/sessions/${encodeURIComponent(sessionId)}`, { cache: "no-store" });
      if (!response.ok) {
        setError(await describeFailure(response));
        return;
      }
      const session = (await response.json()) as PublicSessionInfo;
      if (session.status === "ended") {
        setError("That session has ended.");
        return;
      }
      router.push(`/join/${session.sessionId}`);
    } catch {
      setError("Could not reach Earshot. Check your connection and try again.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate className="flex flex-col gap-3 sm:flex-row sm:items-start" data-testid="join-code-form">
      <Input
        id={`${id}-code`}
        label="Session code"
        className="font-mono text-lg tracking-wide"
        placeholder="quiet-harbor-042"
        autoComplete="off"
        autoCapitalize="none"
        autoCorrect="off"
        spellCheck={false}
        inputMode="text"
        enterKeyHint="go"
        autoFocus={autoFocus}
        value={value}
        onChange={(e) => {
          setValue(tidy(e.target.value));
          setError(undefined);
        }}
        onBlur={() => setTouched(true)}
        containerClassName="flex-1"
        errorTestId="join-code-error"
        error={error ?? shapeError}
        hint={sessionId ? "Looks right." : undefined}
        data-testid="join-code-input"
        data-valid={sessionId ? "true" : "false"}
      />
      <Button type="submit" size="lg" busy={busy} className="sm:mt-7" data-testid="join-code-submit">
        Join
      </Button>
    </form>
  );
}
