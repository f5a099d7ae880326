/**
 * Security review, finding 9: HSTS and Secure cookies whenever the site is
 * served over https (behind a trusted proxy too), and next-auth's origin is
 * the configured public URL when there is one (not whatever Host a client sent).
 */
import { describe, expect, it } from "vitest";
import { PHASE_PRODUCTION_SERVER } from "next/constants";
import nextConfig from "../../next.config";
import { buildAuthOptions } from "../../lib/server/auth/options";
import { loadConfig } from "../../lib/server/config";
import { startTestRuntime } from "./harness";

interface HeaderRule {
  source: string;
  has?: { type: string; key: string; value?: string }[];
  headers: { key: string; value: string }[];
}

async function headerRules(): Promise<HeaderRule[]> {
  const config = await nextConfig(PHASE_PRODUCTION_SERVER);
  return (await config.headers!()) as HeaderRule[];
}

describe("https (security review, finding 9)", () => {
  it("sends HSTS on every route when the request came over https, and only then", async () => {
    const rules = await headerRules();
    const hsts = rules.filter((r) => r.headers.some((h) => h.key === "Strict-Transport-Security"));
    expect(hsts).toHaveLength(1);
    expect(hsts[0]).toMatchObject({ source: "/:path*", has: [{ type: "header", key: "x-forwarded-proto", value: "https" }] });
    expect(hsts[0]!.headers[0]!.value).toMatch(/^max-age=\d{7,}/);
  });

  it("uses Secure cookies when the configured URL is https", () => {
    expect(buildAuthOptions(loadConfig({ NEXTAUTH_URL: "https://earshot.example" })).useSecureCookies).toBe(true);
    // Otherwise next-auth decides per request from the origin it trusts (X-Forwarded-Proto of a trusted proxy).
    expect(buildAuthOptions(loadConfig({ NEXTAUTH_URL: "http://localhost:3000" })).useSecureCookies).toBeUndefined();
  });

  it("makes the configured public URL next-auth's origin in the embedded runtime; trusts the Host only without one", async () => {
    const env: Record<string, string> = { EARSHOT_PUBLIC_URL: "https://earshot.example" };
    const configured = await startTestRuntime(env);
    try {
      expect(configured.config.auth.url).toBe("https://earshot.example");
      expect(buildAuthOptions(configured.config).useSecureCookies).toBe(true);
    } finally {
      await configured.close();
    }
    const plain = await startTestRuntime();
    try {
      expect(plain.config.auth.url).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});
