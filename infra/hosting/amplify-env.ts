/**
 * Amplify Hosting build step: Next's server code on Amplify reads its
 * environment from `.env.production` written at build time. This prints the
 * Earshot variables (from the build's environment variables and from
 * Amplify's SSM-backed `secrets` JSON, which wins) as dotenv lines.
 *
 *   node --import tsx infra/hosting/amplify-env.ts >> .env.production
 *
 * Values are double-quoted JSON strings: dotenv turns `\n` back into
 * newlines, so a PEM key survives either way; `$` is escaped so Next's
 * variable expansion leaves secrets alone.
 */

/** The variables lib/server/config.ts reads, by prefix, plus AWS_REGION (Amplify sets it to the app's region). */
export const APP_ENV_PATTERN = /^(EARSHOT_|COGNITO_|NEXTAUTH_|KVS_)[A-Z0-9_]+$|^AWS_REGION$/;

export function dotenvLines(env: Record<string, string | undefined>, secretsJson?: string): string[] {
  let secrets: Record<string, unknown> = {};
  if (secretsJson) {
    try {
      const parsed: unknown = JSON.parse(secretsJson);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) secrets = parsed as Record<string, unknown>;
    } catch {
      throw new Error("The `secrets` variable is not a JSON object.");
    }
  }
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") merged[k] = v;
  for (const [k, v] of Object.entries(secrets)) if (typeof v === "string" && v !== "") merged[k] = v;
  return Object.keys(merged)
    .filter((k) => APP_ENV_PATTERN.test(k))
    .sort()
    .map((k) => `${k}=${JSON.stringify(merged[k]).replace(/\$/g, "\\$")}`);
}

const invoked = process.argv[1]?.replace(/\\/g, "/").endsWith("infra/hosting/amplify-env.ts");
if (invoked) {
  const lines = dotenvLines(process.env, process.env.secrets);
  process.stdout.write(lines.length ? `${lines.join("\n")}\n` : "");
  process.stderr.write(`amplify-env: wrote ${lines.length} variables: ${lines.map((l) => l.split("=")[0]).join(", ")}\n`);
}
