import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { connection } from "next/server";
import { getConfig } from "@/lib/server/config";
import { isCognitoConfigured } from "@/lib/server/auth/options";
import { getSpeaker } from "@/lib/server/auth/session";
import { DEMO_SPEAKER_EMAIL } from "@/lib/server/auth/speakers";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in" };

interface Props {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

/** Only same-site paths: never send people to another origin after sign-in. */
function safeCallback(value: unknown): string {
  if (typeof value !== "string" || value.length > 512) return "/speaker";
  let path = value;
  if (/^https?:\/\//i.test(value)) {
    // next-auth passes absolute URLs; keep the path only, so the redirect stays on this site.
    try {
      const url = new URL(value);
      path = `${url.pathname}${url.search}`;
    } catch {
      return "/speaker";
    }
  }
  return path.startsWith("/") && !path.startsWith("//") && !path.startsWith("/\\") ? path : "/speaker";
}

export default async function SignInPage({ searchParams }: Props) {
  await connection(); // the sign-in method depends on the runtime's config
  const query = await searchParams;
  const callbackUrl = safeCallback(query.callbackUrl);
  if (await getSpeaker()) redirect(callbackUrl);

  const config = getConfig();
  const error = typeof query.error === "string" ? query.error.slice(0, 64) : undefined;
  return (
    <SignInForm
      mode={config.mode}
      cognitoConfigured={config.mode === "cloud" && isCognitoConfigured(config)}
      callbackUrl={callbackUrl}
      initialError={error}
      demoEmail={config.mode === "embedded" ? DEMO_SPEAKER_EMAIL : undefined}
    />
  );
}
