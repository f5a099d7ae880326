/**
 * Security review, finding 5: sign-in attempts were limited per email only,
 * so 10 wrong passwords from a stranger locked the owner out (from
 * everywhere, repeatably), and one address could try 30 accounts. The real
 * credentials provider (next-auth's authorize) against the real store.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import { SIGNIN_ATTEMPTS_PER_EMAIL_AND_IP, SIGNIN_ATTEMPTS_PER_IP, SIGNIN_RATE_LIMITED, buildAuthOptions } from "../../lib/server/auth/options";
import { WorkLimit } from "../../lib/server/auth/passwords";
import { DEMO_SPEAKER_EMAIL } from "../../lib/server/auth/speakers";
import { CLIENT_IP_HEADER } from "../../lib/server/http/client-ip";
import { setServices } from "../../lib/server/services";
import { startTestRuntime, withinOneRateWindow } from "./harness";

const PASSWORD = "owner-password-123";
let runtime: EmbeddedRuntime;
type Authorize = (credentials: Record<string, string>, req: { headers: Record<string, string> }) => Promise<{ id: string } | null>;
let authorize: Authorize;

beforeAll(async () => {
  runtime = await startTestRuntime({ EARSHOT_DEMO_PASSWORD: PASSWORD });
  setServices(runtime.services);
  const provider = buildAuthOptions(runtime.config).providers[0] as unknown as { options: { authorize: Authorize } };
  authorize = provider.options.authorize;
});
afterAll(async () => {
  setServices(undefined);
  await runtime?.close();
});

/** One sign-in attempt from `ip`: "ok", "wrong" or "limited". */
async function attempt(email: string, password: string, ip: string): Promise<"ok" | "wrong" | "limited"> {
  try {
    const user = await authorize({ email, password }, { headers: { [CLIENT_IP_HEADER]: ip } });
    return user ? "ok" : "wrong";
  } catch (error) {
    if (error instanceof Error && error.message === SIGNIN_RATE_LIMITED) return "limited";
    throw error;
  }
}

describe("sign-in limits (security review, finding 5)", () => {
  // scrypt at full cost: ~0.1-0.7 s a check on this shared machine.
  it("a stranger's wrong passwords do not lock the owner out: limited per email and address, not per email", { timeout: 180_000 }, async () => {
    await withinOneRateWindow(300, 20);
    const stranger = "198.51.100.7";
    const results = [];
    for (let i = 0; i < SIGNIN_ATTEMPTS_PER_EMAIL_AND_IP + 2; i++) results.push(await attempt(DEMO_SPEAKER_EMAIL, `guess-${i}-wrong`, stranger));
    expect(results.slice(0, SIGNIN_ATTEMPTS_PER_EMAIL_AND_IP)).toEqual(Array(SIGNIN_ATTEMPTS_PER_EMAIL_AND_IP).fill("wrong"));
    expect(results.slice(SIGNIN_ATTEMPTS_PER_EMAIL_AND_IP)).toEqual(["limited", "limited"]);
    // Before: the owner was refused from everywhere for the rest of the window.
    expect(await attempt(DEMO_SPEAKER_EMAIL, PASSWORD, "203.0.113.20")).toBe("ok");
    // The stranger stays limited, even with the right password.
    expect(await attempt(DEMO_SPEAKER_EMAIL, PASSWORD, stranger)).toBe("limited");
  });

  it("one address cannot try more than its budget across many accounts", { timeout: 180_000 }, async () => {
    await withinOneRateWindow(300, 20);
    const sprayer = "198.51.100.99";
    // All at once, as a script would: the budget is taken before the (slow) password check, so a burst cannot overrun it.
    const results = await Promise.all(
      Array.from({ length: SIGNIN_ATTEMPTS_PER_IP + 2 }, (_, i) => attempt(`someone-${i}@example.com`, "password-123", sprayer)),
    );
    expect(results.filter((r) => r === "wrong")).toHaveLength(SIGNIN_ATTEMPTS_PER_IP);
    expect(results.filter((r) => r === "limited")).toHaveLength(2);
    // Others are unaffected.
    expect(await attempt(DEMO_SPEAKER_EMAIL, PASSWORD, "203.0.113.21")).toBe("ok");
  });

  it("runs at most two password checks at once however many arrive, and sheds the excess at once", async () => {
    const limit = new WorkLimit(2, 3);
    const gates: (() => void)[] = [];
    let running = 0;
    let most = 0;
    const work = () =>
      new Promise<string>((resolve) => {
        running++;
        most = Math.max(most, running);
        gates.push(() => {
          running--;
          resolve("done");
        });
      });
    const runs = Array.from({ length: 8 }, () => limit.run(work));
    // 2 run, 3 wait, 3 are refused without running.
    const refused = await Promise.all(runs.slice(5));
    expect(refused).toEqual([undefined, undefined, undefined]);
    expect(gates).toHaveLength(2);
    for (let released = 0; released < 5; released++) {
      await vi.waitFor(() => expect(gates.length).toBeGreaterThan(0));
      gates.shift()!();
    }
    expect(await Promise.all(runs.slice(0, 5))).toEqual(Array(5).fill({ value: "done" }));
    expect(most).toBe(2);
    expect(limit.peak).toBe(2);
  });
});
