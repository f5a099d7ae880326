import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { headers } from "next/headers";
import { connection } from "next/server";
import { sameOriginPath } from "@/lib/core/redirect";
import { getConfig } from "@/lib/server/config";
import { isCognitoConfigured } from "@/lib/server/auth/options";
import { getSpeaker } from "@/lib/server/auth/session";
import { DEMO_SPEAKER_EMAIL } from "@/lib/server/auth/speakers";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in" };

interface Props {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

/** The origins this request may come back to: the configured public URL and the host the browser used. */
async function siteOrigins(publicUrl: string): Promise<string[]> {
  const h = await headers();
  const host = h.get("host");
  const proto = h.get("x-forwarded-proto") === "https" ? "https" : "http";
  return host ? [publicUrl, `${proto}://${host}`] : [publicUrl];
}

export default async function SignInPage({ searchParams }: Props) {
  await connection(); // the sign-in method depends on the runtime's config
  const query = await searchParams;
  const config = getConfig();
  // Only a path on this site, whatever was asked for (see lib/core/redirect.ts).
  const callbackUrl = sameOriginPath(query.callbackUrl, await siteOrigins(config.publicUrl));
  if (await getSpeaker()) redirect(callbackUrl);

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
