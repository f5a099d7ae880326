import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DEFAULT_AFTER_SIGNIN, sameOriginPath } from "../../lib/core/redirect";

/**
 * The sign-in page's callbackUrl (security review, finding 1): the attack was
 * `/signin?callbackUrl=%2F%09%2Fevil.example%2Fphish`, whose value a browser
 * resolves to `//evil.example/phish`, i.e. another site; the %0A/%0D variants
 * made the redirect throw (500). Every result must resolve to this site when a
 * browser follows it, and be a valid Location header value.
 */

const SITE = "http://localhost:3000";

/** What a browser does with a redirect target. */
function landsOn(path: string): string {
  return new URL(path, SITE).origin;
}

describe("sameOriginPath (sign-in callbackUrl)", () => {
  const attacks = [
    "/\t/evil.example/phish", // the reported one (%2F%09%2F...)
    "/\n/evil.example/phish",
    "/\r/evil.example/phish",
    "/\r\n/evil.example/phish",
    "//evil.example/phish",
    "/\\evil.example/phish",
    "\\\\evil.example/phish",
    "/.//evil.example/phish",
    "/%2e//evil.example/phish",
    " //evil.example",
    "https://evil.example/phish",
    "http:evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://localhost:3000@evil.example/",
    "http://localhost:3001/speaker",
  ];

  it.each(attacks)("keeps %j on this site", (value) => {
    const path = sameOriginPath(value, [SITE]);
    expect(landsOn(path)).toBe(SITE);
    expect(path.startsWith("/") && !path.startsWith("//")).toBe(true);
  });

  it("keeps same-site paths and absolute URLs on this site (next-auth passes those) as their path", () => {
    expect(sameOriginPath("/speaker?session=pure-psalm-481", [SITE])).toBe("/speaker?session=pure-psalm-481");
    expect(sameOriginPath(`${SITE}/speaker?session=x#top`, [SITE])).toBe("/speaker?session=x#top");
    expect(sameOriginPath("/join", [])).toBe("/join");
  });

  it("falls back for non-strings, empty and overlong values", () => {
    for (const v of [undefined, null, 42, ["/a", "/b"], "", "/" + "a".repeat(600)]) {
      expect(sameOriginPath(v, [SITE])).toBe(DEFAULT_AFTER_SIGNIN);
    }
  });

  it("never leaves the site and never yields a value a Location header refuses, for any input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 }), fc.webUrl(), fc.webPath()), (value) => {
        const path = sameOriginPath(value, [SITE]);
        expect(landsOn(path)).toBe(SITE);
        expect(path).toMatch(/^\/(?!\/)[\x21-\x7e]*$/);
      }),
      { numRuns: 3000 },
    );
  });
});
