import { describe, expect, it } from "vitest";
import { AsyncLru, translationKey } from "../../lib/server/speech/cache";

describe("AsyncLru", () => {
  it("calls once per key and serves repeats from the cache", async () => {
    const cache = new AsyncLru<string>(10);
    let calls = 0;
    const load = async () => `v${++calls}`;
    expect(await cache.get("a", load)).toBe("v1");
    expect(await cache.get("a", load)).toBe("v1");
    expect(calls).toBe(1);
    expect(cache.hits).toBe(1);
    expect(cache.misses).toBe(1);
  });

  it("merges concurrent requests for one key into one call", async () => {
    const cache = new AsyncLru<string>(10);
    let calls = 0;
    let release!: (v: string) => void;
    const load = () => {
      calls++;
      return new Promise<string>((resolve) => (release = resolve));
    };
    const a = cache.get("k", load);
    const b = cache.get("k", load);
    release("done");
    expect(await Promise.all([a, b])).toEqual(["done", "done"]);
    expect(calls).toBe(1);
  });

  it("keeps at most maxEntries, dropping the least recently used", async () => {
    const cache = new AsyncLru<number>(2);
    let calls = 0;
    const load = (n: number) => async () => (calls++, n);
    await cache.get("one", load(1));
    await cache.get("two", load(2));
    await cache.get("one", load(1)); // "one" is now the most recent
    await cache.get("three", load(3)); // evicts "two"
    expect(cache.size).toBe(2);
    calls = 0;
    await cache.get("one", load(1));
    await cache.get("three", load(3));
    expect(calls).toBe(0);
    await cache.get("two", load(2));
    expect(calls).toBe(1);
  });

  it("does not cache failures", async () => {
    const cache = new AsyncLru<string>(4);
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error("engine down");
    };
    await expect(cache.get("x", failing)).rejects.toThrow("engine down");
    await expect(cache.get("x", failing)).rejects.toThrow("engine down");
    expect(calls).toBe(2);
    expect(await cache.get("x", async () => "ok")).toBe("ok");
    expect(cache.size).toBe(1);
  });

  it("keys translations by engine, pair and sentence", () => {
    expect(translationKey("local", "en", "es", "Hello.")).not.toBe(translationKey("aws", "en", "es", "Hello."));
    expect(translationKey("local", "en", "es", "Hello.")).not.toBe(translationKey("local", "en", "ca", "Hello."));
  });
});

describe("speech parts", () => {
  it("splits base64 audio at multiples of 4 characters under the limit, and keeps short audio whole", async () => {
    const { speechParts } = await import("../../lib/server/speech/pipeline");
    const audio = Buffer.alloc(250_000, 7).toString("base64");
    const parts = speechParts(audio, 98_304);
    expect(parts.length).toBe(Math.ceil(audio.length / 98_304));
    for (const p of parts) expect(p.length % 4 === 0 || p === parts.at(-1)).toBe(true);
    expect(parts.join("")).toBe(audio);
    expect(Buffer.concat(parts.map((p) => Buffer.from(p, "base64"))).equals(Buffer.alloc(250_000, 7))).toBe(true);
    expect(speechParts("QUJD")).toEqual(["QUJD"]);
  });
});
