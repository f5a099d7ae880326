import { z } from "zod";

/**
 * Deployment settings, read from CDK context (`cdk.json` or `-c key=value`)
 * and validated before any construct is made. Everything has a default so
 * `cdk synth` works offline with no context and no AWS credentials.
 */

// The same rules lib/server/config.ts applies to the variables these become.
const tablePrefix = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - only (at most 64)");
const channelPrefix = z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, "letters, digits, _ . - only (at most 40)");
const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL")
  .transform((u) => u.replace(/\/+$/, ""));

const flag = z
  .union([z.boolean(), z.enum(["true", "false"])])
  .transform((v) => v === true || v === "true");

const schema = z.object({
  stackName: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/).default("Earshot"),
  /** Prefix of the DynamoDB tables (EARSHOT_TABLE_PREFIX). */
  tablePrefix: tablePrefix.default("earshot-"),
  /** Prefix of the KVS signaling channels (KVS_CHANNEL_PREFIX); the IAM policies are scoped to it. */
  channelPrefix: channelPrefix.default("earshot-"),
  /** Where the Next app is served (EARSHOT_PUBLIC_URL, NEXTAUTH_URL, Cognito callback). */
  publicUrl: httpUrl.optional(),
  /** More OAuth callback origins, comma-separated (e.g. http://localhost:3000 for local sign-in tests). */
  extraCallbackOrigins: z.string().default(""),
  /** Cognito hosted-UI domain prefix (globally unique in the region). Default: `${tablePrefix}<account id>`. */
  cognitoDomainPrefix: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "lowercase letters, digits and hyphens")
    .refine((v) => !/aws|amazon|cognito/.test(v), "may not contain aws, amazon or cognito")
    .optional(),
  /** Keep tables and the user pool when the stack is deleted. */
  retainData: flag.default(false),
  logRetentionDays: z.coerce.number().int().positive().default(30),
  /** Stage-wide throttling of the WebSocket API (messages per second, and burst). */
  throttleRate: z.coerce.number().positive().default(500),
  throttleBurst: z.coerce.number().int().positive().default(1000),
  /** Minutes between sweeps of vanished WebSocket connections (API Gateway's $disconnect is best-effort). */
  sweepMinutes: z.coerce.number().int().min(1).max(60).default(5),
  /**
   * Set the account-wide API Gateway CloudWatch role (WebSocket stages need it for access logs).
   * Turn off when the account already has one you manage elsewhere.
   */
  apiGatewayAccountRole: flag.default(true),
});

export type EarshotSettings = Omit<z.infer<typeof schema>, "publicUrl" | "extraCallbackOrigins"> & {
  publicUrl: string;
  /** True when publicUrl was not given and the localhost default is used. */
  publicUrlDefaulted: boolean;
  /** Origins allowed as OAuth callbacks (publicUrl first). */
  callbackOrigins: string[];
};

export const DEFAULT_PUBLIC_URL = "http://localhost:3000";

export class SettingsError extends Error {
  constructor(problems: string[]) {
    super(`Invalid CDK context:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "SettingsError";
  }
}

/** Parses context values (strings from `-c`, or JSON values from cdk.json). Throws SettingsError naming every bad key. */
export function parseSettings(context: Record<string, unknown>): EarshotSettings {
  const present = Object.fromEntries(Object.entries(context).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(present);
  if (!parsed.success) throw new SettingsError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  const { publicUrl, extraCallbackOrigins, ...rest } = parsed.data;
  const extra = extraCallbackOrigins
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((origin) => {
      const r = httpUrl.safeParse(origin);
      if (!r.success) throw new SettingsError([`extraCallbackOrigins: "${origin}" is not an http(s) URL`]);
      return r.data;
    });
  const url = publicUrl ?? DEFAULT_PUBLIC_URL;
  return { ...rest, publicUrl: url, publicUrlDefaulted: publicUrl === undefined, callbackOrigins: [...new Set([url, ...extra])] };
}

/** The context keys parseSettings reads (bin/earshot.ts looks each one up). */
export const SETTING_KEYS = Object.keys(schema.shape) as (keyof z.infer<typeof schema>)[];
