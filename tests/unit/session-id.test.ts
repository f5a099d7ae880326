import { describe, expect, it } from "vitest";
import { ADJECTIVES, NOUNS } from "../../lib/core/words";
import { SESSION_ID_ENTROPY_BITS, SESSION_ID_PATTERN, generateSessionId, isValidSessionId, normalizeSessionId } from "../../lib/core/session-id";

describe("session ids", () => {
  it("have at least 30 bits of entropy from curated, non-overlapping word lists", () => {
    expect(SESSION_ID_ENTROPY_BITS).toBeGreaterThanOrEqual(30);
    expect(new Set(ADJECTIVES).size).toBe(ADJECTIVES.length);
    expect(new Set(NOUNS).size).toBe(NOUNS.length);
    expect(ADJECTIVES.filter((w) => NOUNS.includes(w))).toEqual([]);
    for (const w of [...ADJECTIVES, ...NOUNS]) expect(w).toMatch(/^[a-z]{3,8}$/);
  });

  it("look like word-word-NNN and match the pattern they are validated with", () => {
    for (let i = 0; i < 2000; i++) {
      const id = generateSessionId();
      expect(id).toMatch(SESSION_ID_PATTERN);
      const [adj, noun, digits] = id.split("-");
      expect(ADJECTIVES).toContain(adj);
      expect(NOUNS).toContain(noun);
      expect(digits).toMatch(/^\d{3}$/);
    }
  });

  it("spread over the space: 20,000 draws collide rarely and use every digit position", () => {
    const ids = Array.from({ length: 20_000 }, generateSessionId);
    // Birthday bound at 30.4 bits: ~0.15 expected collisions among 20k; allow a few.
    expect(ids.length - new Set(ids).size).toBeLessThan(5);
    const adjectivesSeen = new Set(ids.map((id) => id.split("-")[0]));
    expect(adjectivesSeen.size).toBeGreaterThan(ADJECTIVES.length * 0.99);
    const lastDigits = new Set(ids.map((id) => id.at(-1)));
    expect(lastDigits.size).toBe(10);
  });

  it("validate by pattern and normalize what people type", () => {
    expect(isValidSessionId("quiet-harbor-042")).toBe(true);
    for (const bad of ["quiet-harbor-42", "Quiet-harbor-042", "quiet_harbor_042", "quiet-harbor-0420", "qu-harbor-042", "", 42, null, "quiet-harbor-042\n"]) {
      expect(isValidSessionId(bad)).toBe(false);
    }
    expect(normalizeSessionId("  Quiet Harbor 042 ")).toBe("quiet-harbor-042");
    expect(normalizeSessionId("quiet-harbor")).toBeUndefined();
  });
});
