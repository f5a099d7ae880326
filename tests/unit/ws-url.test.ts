import { describe, expect, it } from "vitest";
import { controlBaseUrl, controlUrl, withQuery } from "@/lib/client/ws-url";

const http = { protocol: "http:", host: "localhost:3000" };
const https = { protocol: "https:", host: "earshot.example.org" };

describe("controlBaseUrl", () => {
  it("uses the page's host at /ws when no URL is configured", () => {
    expect(controlBaseUrl(undefined, http)).toBe("ws://localhost:3000/ws");
    expect(controlBaseUrl("", https)).toBe("wss://earshot.example.org/ws");
    expect(controlBaseUrl("   ", https)).toBe("wss://earshot.example.org/ws");
  });

  it("keeps a configured ws(s) URL, path included (an API Gateway stage)", () => {
    expect(controlBaseUrl("wss://abc123.execute-api.eu-west-1.amazonaws.com/prod", http)).toBe(
      "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod",
    );
    expect(controlBaseUrl("ws://10.0.0.5:4000/ws#frag", https)).toBe("ws://10.0.0.5:4000/ws");
  });

  it("resolves a bare path against the page's host", () => {
    expect(controlBaseUrl("/control", https)).toBe("wss://earshot.example.org/control");
    expect(controlBaseUrl("/control", http)).toBe("ws://localhost:3000/control");
  });

  it("refuses other schemes", () => {
    expect(() => controlBaseUrl("https://example.org/ws", http)).toThrow(/ws:\/\/ or wss:\/\//);
  });
});

describe("withQuery / controlUrl", () => {
  it("adds parameters, skipping empty ones, and encodes values", () => {
    expect(withQuery("ws://h/ws", { sessionId: "quiet-harbor-042", targetLanguage: "de", token: undefined, x: "" })).toBe(
      "ws://h/ws?sessionId=quiet-harbor-042&targetLanguage=de",
    );
    expect(withQuery("wss://h/prod?stage=1", { token: "a b+c" })).toBe("wss://h/prod?stage=1&token=a+b%2Bc");
  });

  it("builds the full URL for a page", () => {
    expect(controlUrl(undefined, { sessionId: "quiet-harbor-042" }, https)).toBe("wss://earshot.example.org/ws?sessionId=quiet-harbor-042");
  });
});
