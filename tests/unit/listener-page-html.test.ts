import { describe, expect, it } from "vitest";
import { escapeHtml, renderListenerPage, renderUnavailablePage, scriptJson } from "@/components/listener/page/html";

const base = {
  sessionId: "quiet-harbor-042",
  title: 'Keynote <script>alert("x")</script>',
  sourceLanguage: "en" as const,
  listenerCount: 3,
  language: "es" as const,
  mediaUrl: "/join/assets/media-ABC.js",
  langFromUrl: true,
  live: true,
  connectAheadSeconds: 60,
  offers: [
    { language: "en" as const, kind: "source" as const, captions: true },
    { language: "es" as const, kind: "voice" as const, captions: true },
    { language: "gl" as const, kind: "voice" as const, captions: true, voiceNote: "Portuguese voice" },
  ],
};
const assets = { css: "body{}", js: "console.log(1)" };

describe("listener page HTML", () => {
  it("escapes text and keeps JSON from closing its script element", () => {
    expect(escapeHtml(`<a href="x">&'`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    expect(scriptJson({ t: "</script><script>" })).not.toContain("</script>");
    const html = renderListenerPage(base, assets);
    expect(html).not.toContain('<script>alert("x")</script>');
    expect(html).toContain("Keynote &lt;script&gt;");
    const config = /<script type="application\/json" id="earshot-listener-config">(.*?)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(config)).toMatchObject({ sessionId: "quiet-harbor-042", language: "es", title: base.title });
  });

  it("renders the picker with what each language gives, the modes of the language, the captions panel and an enabled Listen button", () => {
    const html = renderListenerPage(base, assets);
    expect(html).toContain('<option value="es" selected>Español (Spanish) · voice, captions</option>');
    expect(html).toContain("Galego (Galician) · voice (Portuguese voice), captions");
    expect(html).toMatch(/data-testid="mode-translation" checked/);
    expect(html).toMatch(/ hidden data-mode="device"/);
    expect(html).toContain('data-testid="captions" aria-live="polite"');
    expect(html).toMatch(/<button type="button" class="[^"]*" data-testid="listen-button" id="listen-button">Listen<\/button>/);
    expect(html).not.toContain('data-testid="translation-off"');
    expect(html).toContain("<style>body{}</style>");
  });

  it("says so when the session has no captions or translation", () => {
    const html = renderListenerPage({ ...base, language: "en", offers: [{ language: "en", kind: "source", captions: false }] }, assets);
    expect(html).toContain('data-testid="translation-off"');
    expect(html).toMatch(/id="captions-card" hidden/);
    expect(html).toMatch(/data-testid="listen-mode" hidden/);
  });

  it("preloads the media module only when the page starts in a mode that needs the speaker's own voice", () => {
    const withMedia = { ...assets, mediaFiles: ["media-ABC.js", "chunk-1.js"] };
    const original = renderListenerPage({ ...base, language: "en" }, withMedia);
    expect(original).toContain('<link rel="modulepreload" href="/join/assets/media-ABC.js"><link rel="modulepreload" href="/join/assets/chunk-1.js"><script');
    // Spanish starts in translation only: no WebRTC, nothing to preload.
    expect(renderListenerPage(base, withMedia)).not.toContain("modulepreload");
  });

  it("runs its script in the head, before the body (the Listen tap works from the first paint), with its config before it", () => {
    const html = renderListenerPage(base, assets);
    const head = html.slice(0, html.indexOf("</head>"));
    expect(head).toContain("<script>console.log(1)</script>");
    expect(head.indexOf('id="earshot-listener-config"')).toBeLessThan(head.indexOf("<script>console.log(1)</script>"));
    expect(html.slice(html.indexOf("<body")).match(/<script/g)).toBeNull();
  });

  it("renders the unavailable page without any script", () => {
    const html = renderUnavailablePage("ended", "quiet-harbor-042", { css: "" });
    expect(html).toContain('data-testid="session-unavailable" data-reason="ended"');
    expect(html).not.toContain("<script");
  });
});
