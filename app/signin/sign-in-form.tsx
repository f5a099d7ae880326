"use client";

import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { sameOriginPath } from "@/lib/core/redirect";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Input } from "@/components/ui/input";

/** next-auth's error codes (and ours) as sentences; one generic line for wrong credentials. */
function describe(code: string | undefined): string | undefined {
  if (!code) return undefined;
  switch (code) {
    case "CredentialsSignin":
      return "Wrong email or password.";
    case "RATE_LIMIT_EXCEEDED":
      return "Too many sign-in attempts. Wait a few minutes and try again.";
    case "SessionRequired":
      return "Sign in to start a session.";
    case "Configuration":
      return "Sign-in is not configured on this server.";
    default:
      return "Sign-in failed. Try again.";
  }
}

export interface SignInFormProps {
  mode: "embedded" | "cloud";
  cognitoConfigured: boolean;
  /** A same-site path to return to. */
  callbackUrl: string;
  initialError?: string;
  demoEmail?: string;
}

export function SignInForm({ mode, cognitoConfigured, callbackUrl, initialError, demoEmail }: SignInFormProps) {
  const router = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(describe(initialError));
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!email.trim() || !password) {
      setError("Enter your email and password.");
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const result = await signIn("credentials", { email: email.trim(), password, redirect: false, callbackUrl });
      if (!result || result.error || !result.ok) {
        setError(describe(result?.error ?? "Unknown"));
        return;
      }
      // Checked again here: never leave the site, whatever the prop says.
      router.replace(sameOriginPath(callbackUrl, [window.location.origin]));
      router.refresh();
    } catch {
      setError("Could not reach Earshot. Check your connection and try again.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="mx-auto flex max-w-md flex-col gap-6">
      <div>
        <h1 className="text-2xl font-bold text-slate-900 sm:text-3xl">Sign in to speak</h1>
        <p className="mt-2 text-slate-600">Speakers sign in to start sessions. Listeners need no account.</p>
      </div>
      <Card>
        {mode === "embedded" ? (
          <form onSubmit={onSubmit} noValidate className="flex flex-col gap-4" data-testid="signin-form">
            <Input
              id="signin-email"
              label="Email"
              type="email"
              autoComplete="username"
              inputMode="email"
              autoCapitalize="none"
              spellCheck={false}
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              data-testid="signin-email"
            />
            <Input
              id="signin-password"
              label="Password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              data-testid="signin-password"
            />
            {error ? <Alert data-testid="signin-error">{error}</Alert> : null}
            <Button type="submit" size="lg" busy={busy} data-testid="signin-submit">
              Sign in
            </Button>
            {demoEmail ? (
              <p className="text-sm text-slate-600">
                Trying it out? Sign in as <span className="font-mono text-slate-800">{demoEmail}</span> with the demo password printed
                when Earshot started.
              </p>
            ) : null}
          </form>
        ) : (
          <div className="flex flex-col gap-4">
            {error ? <Alert data-testid="signin-error">{error}</Alert> : null}
            {cognitoConfigured ? (
              <Button size="lg" busy={busy} onClick={() => (setBusy(true), void signIn("cognito", { callbackUrl }))} data-testid="signin-cognito">
                Sign in with Cognito
              </Button>
            ) : (
              <Alert data-testid="signin-error">Sign-in is not configured: set COGNITO_CLIENT_ID, COGNITO_CLIENT_SECRET and COGNITO_ISSUER.</Alert>
            )}
          </div>
        )}
      </Card>
    </div>
  );
}
