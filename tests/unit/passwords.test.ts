import { describe, expect, it } from "vitest";
import { hashPassword, isPasswordHash, verifyPassword } from "@/lib/server/auth/passwords";

const fast = { N: 2 ** 10, r: 8, p: 1 };

describe("passwords", () => {
  it("encodes scrypt$N$r$p$salt$hash with the default cost and verifies", async () => {
    const encoded = await hashPassword("correct horse battery");
    expect(encoded).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(await verifyPassword("correct horse battery", encoded)).toBe(true);
    expect(await verifyPassword("correct horse batterY", encoded)).toBe(false);
  });

  it("salts every hash", async () => {
    const a = await hashPassword("same-password", fast);
    const b = await hashPassword("same-password", fast);
    expect(a).not.toBe(b);
    expect(await verifyPassword("same-password", a)).toBe(true);
    expect(await verifyPassword("same-password", b)).toBe(true);
  });

  it("reads the cost from the encoded string", async () => {
    const encoded = await hashPassword("pa55word!", fast);
    expect(encoded.startsWith("scrypt$1024$8$1$")).toBe(true);
    expect(await verifyPassword("pa55word!", encoded)).toBe(true);
  });

  it("never matches a malformed or hostile hash", async () => {
    const good = await hashPassword("pa55word!", fast);
    const [, , , , salt, hash] = good.split("$");
    for (const bad of [
      "",
      "plain",
      `bcrypt$1024$8$1$${salt}$${hash}`,
      `scrypt$1000$8$1$${salt}$${hash}`, // N not a power of two
      `scrypt$${2 ** 24}$8$1$${salt}$${hash}`, // N too large: refused, not computed
      `scrypt$1024$0$1$${salt}$${hash}`,
      `scrypt$1024$8$1$${salt}`,
      `scrypt$1024$8$1$${salt}$not+base64url`,
      `scrypt$1024$8$1$${salt}$${hash}$extra`,
    ]) {
      expect(isPasswordHash(bad), bad).toBe(false);
      expect(await verifyPassword("pa55word!", bad), bad).toBe(false);
    }
    expect(isPasswordHash(good)).toBe(true);
  });

  it("treats unicode-equivalent passwords alike (NFKC)", async () => {
    const encoded = await hashPassword("caf\u00e9-latte", fast);
    expect(await verifyPassword("cafe\u0301-latte", encoded)).toBe(true);
  });
});
