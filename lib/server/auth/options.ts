import type { AuthOptions } from "next-auth";
import type { Provider } from "next-auth/providers/index";
import CredentialsProvider from "next-auth/providers/credentials";
import CognitoProvider from "next-auth/providers/cognito";
import { isEarshotError } from "../../core/errors";
import { getConfig, type Config } from "../config";
import { createLogger } from "../logger";
import { getServices } from "../services";
import { MAX_PASSWORD_LENGTH, normalizeEmail } from "./speakers";
import { passwordChecks, verifyAgainstDummy, verifyPassword } from "./passwords";
import { clientIp } from "../http/client-ip";

/** next-auth hands authorize() the request's headers as a plain object. */
function requestHeaders(raw: unknown): Headers {
  const headers = new Headers();
  if (raw && typeof raw === "object") {
    for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
      try {
        if (typeof value === "string") headers.set(name, value);
        else if (Array.isArray(value)) headers.set(name, value.filter((v) => typeof v === "string").join(", "));
      } catch {
        // a name or value Headers refuses: not one the client IP is read from
      }
    }
  }
  return headers;
}

/**
 * next-auth for speakers. JWT sessions in both modes; embedded checks the
 * store's speakers table, cloud hands off to Cognito. Listeners never sign in.
 */

const log = createLogger("auth");

/**
 * Sign-in attempts per window (slow online guessing). Counted before the
 * password is checked, so a burst cannot overrun them, and never per email
 * alone: a stranger who spends an account's budget from their address does
 * not lock its owner out from theirs.
 * - per client IP, whatever the email (one address trying many accounts);
 * - per email and client IP (one address guessing one account).
 */
export const SIGNIN_ATTEMPTS_PER_IP = 30;
export const SIGNIN_ATTEMPTS_PER_EMAIL_AND_IP = 10;
export const SIGNIN_WINDOW_SECONDS = 5 * 60;

/** The error code a failed sign-in reports when it was refused for rate limiting (shown on /signin). */
export const SIGNIN_RATE_LIMITED = "RATE_LIMIT_EXCEEDED";

/** A speaker session lasts as long as a session may (speakers re-sign in after that). */
const SESSION_MAX_AGE_SECONDS = 12 * 3600;

function credentialsProvider(): Provider {
  return CredentialsProvider({
    id: "credentials",
    name: "Earshot account",
    credentials: {
      email: { label: "Email", type: "email" },
      password: { label: "Password", type: "password" },
    },
    async authorize(credentials, req) {
      const email = normalizeEmail(credentials?.email ?? "");
      const password = credentials?.password ?? "";
      // One generic failure (null) for every bad input: no hint which part was wrong.
      if (!email || password.length === 0 || password.length > MAX_PASSWORD_LENGTH) return null;
      const { store, config } = await getServices();
      const ip = clientIp(requestHeaders(req?.headers), { trustProxy: config.trustProxy });
      try {
        await store.enforce(`signin-ip:${ip}`, SIGNIN_ATTEMPTS_PER_IP, SIGNIN_WINDOW_SECONDS, "sign-in attempts");
        await store.enforce(`signin:${email}#${ip}`, SIGNIN_ATTEMPTS_PER_EMAIL_AND_IP, SIGNIN_WINDOW_SECONDS, "sign-in attempts");
      } catch (error) {
        if (isEarshotError(error) && error.code === "RATE_LIMIT_EXCEEDED") {
          log.warn("sign-in rate limited", { ip, retryAfter: error.retryAfter });
          throw new Error(SIGNIN_RATE_LIMITED);
        }
        throw error;
      }
      const speaker = await store.getSpeaker(email);
      const checked = await passwordChecks.run(() => (speaker ? verifyPassword(password, speaker.passwordHash) : verifyAgainstDummy(password)));
      if (!checked) {
        log.warn("sign-in refused: too many password checks waiting", { ip });
        throw new Error(SIGNIN_RATE_LIMITED);
      }
      if (!speaker || !checked.value) return null;
      return { id: speaker.speakerId, email: speaker.email, name: speaker.name };
    },
  });
}

function cognitoProvider(config: Config): Provider | undefined {
  const { clientId, clientSecret, issuer } = config.cognito;
  if (!clientId || !clientSecret || !issuer) return undefined;
  return CognitoProvider({ clientId, clientSecret, issuer });
}

/** Whether the cloud sign-in (Cognito) is configured. */
export function isCognitoConfigured(config: Config = getConfig()): boolean {
  return cognitoProvider(config) !== undefined;
}

export function buildAuthOptions(config: Config): AuthOptions {
  const cognito = config.mode === "cloud" ? cognitoProvider(config) : undefined;
  return {
    secret: config.auth.secret,
    // Secure cookies whenever the site is https: a configured https URL, or (next-auth's own rule,
    // when the host is trusted) X-Forwarded-Proto: https from a trusted proxy.
    ...(config.auth.url?.startsWith("https://") ? { useSecureCookies: true } : {}),
    session: { strategy: "jwt", maxAge: SESSION_MAX_AGE_SECONDS },
    jwt: { maxAge: SESSION_MAX_AGE_SECONDS },
    providers: config.mode === "embedded" ? [credentialsProvider()] : cognito ? [cognito] : [],
    pages: { signIn: "/signin", error: "/signin" },
    callbacks: {
      async jwt({ token, user }) {
        // `user` is present only on sign-in: credentials give the speakers row, Cognito its profile (`sub`).
        if (user) {
          token.speakerId = user.id;
          token.email = user.email ?? token.email;
          token.name = user.name ?? token.name;
        }
        return token;
      },
      async session({ session, token }) {
        return {
          ...session,
          speakerId: token.speakerId,
          user: { email: token.email ?? undefined, name: token.name ?? undefined },
        };
      },
    },
    logger: {
      error: (code, metadata) => log.error(code, { metadata }),
      warn: (code) => log.warn(code),
      debug: (code) => log.debug(code),
    },
  };
}

const cache = new WeakMap<Config, AuthOptions>();

/** The process's auth options, built once per config. */
export function getAuthOptions(config: Config = getConfig()): AuthOptions {
  let options = cache.get(config);
  if (!options) cache.set(config, (options = buildAuthOptions(config)));
  return options;
}
