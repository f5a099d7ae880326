/**
 * Gets a speaker token the way the speaker's browser does: next-auth
 * credentials sign-in over HTTP, then GET /api/speaker/token with the session
 * cookie. The benchmark process cannot reach the server's signer.
 */

class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(";")[0] ?? "";
      const eq = pair.indexOf("=");
      if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }

  has(name: string): boolean {
    return [...this.cookies.keys()].some((k) => k === name || k.endsWith(name));
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

export interface SpeakerAuth {
  token(): Promise<string>;
}

export async function signInSpeaker(baseUrl: string, email: string, password: string): Promise<SpeakerAuth> {
  const jar = new CookieJar();

  const csrfRes = await fetch(`${baseUrl}/api/auth/csrf`);
  if (!csrfRes.ok) throw new Error(`GET /api/auth/csrf answered ${csrfRes.status}`);
  jar.take(csrfRes);
  const { csrfToken } = (await csrfRes.json()) as { csrfToken?: string };
  if (!csrfToken) throw new Error("GET /api/auth/csrf gave no csrfToken");

  const form = new URLSearchParams({ csrfToken, email, password, callbackUrl: `${baseUrl}/speaker`, json: "true" });
  const signIn = await fetch(`${baseUrl}/api/auth/callback/credentials`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header() },
    body: form.toString(),
    redirect: "manual",
  });
  jar.take(signIn);
  if (!jar.has("next-auth.session-token")) {
    const where = signIn.headers.get("location") ?? (await signIn.text()).slice(0, 200);
    throw new Error(`sign-in as ${email} failed (HTTP ${signIn.status}, ${where})`);
  }

  return {
    async token() {
      const res = await fetch(`${baseUrl}/api/speaker/token`, { headers: { cookie: jar.header() } });
      if (res.status === 404) throw new Error("GET /api/speaker/token is not there (404): the route is missing from this build");
      if (!res.ok) throw new Error(`GET /api/speaker/token answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const body = (await res.json()) as { token?: string };
      if (!body.token) throw new Error("GET /api/speaker/token gave no token");
      return body.token;
    },
  };
}
