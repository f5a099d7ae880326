import { gzipSync } from "node:zlib";
import WebSocket from "ws";
import type { Page, Response } from "@playwright/test";
import type { Benchmark, BenchContext, BenchResult } from "./types";
import { launchChromium, listenerContext } from "../tests/e2e/support/harness";

/**
 * Page weight: the JavaScript a listener's phone downloads. First load is
 * every script the page runs before its load event: the scripts it fetches
 * and the scripts inline in its HTML (the listener page inlines its own);
 * each is gzip-compressed here (zlib, level 9), so the figure does not depend
 * on how the server compresses. The WebRTC module (the KVS SDK) is loaded
 * with import() after the load event or on Listen, and reported separately.
 */

/** Issue 13: the listener page's first-load JavaScript, gzip. */
const BUDGET_KB = 60;

interface Script {
  url: string;
  bytes: number;
  gzip: number;
  /** Requested before the page's load event (the HTML's own scripts), not by a later prefetch or import(). */
  beforeLoad: boolean;
}

function collectScripts(page: Page): { scripts: Script[]; pending: Promise<void>[] } {
  const scripts: Script[] = [];
  const pending: Promise<void>[] = [];
  const early = new WeakSet<object>();
  let loaded = false;
  page.on("load", () => (loaded = true));
  page.on("request", (request) => {
    if (!loaded) early.add(request);
  });
  page.on("response", (response: Response) => {
    if (response.request().resourceType() !== "script" || !response.ok()) return;
    const beforeLoad = early.has(response.request());
    pending.push(
      response.body().then(
        (body) => {
          scripts.push({ url: new URL(response.url()).pathname, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length, beforeLoad });
        },
        () => undefined,
      ),
    );
  });
  return { scripts, pending };
}

async function createSession(ctx: BenchContext): Promise<{ sessionId: string; close(): void }> {
  const token = await ctx.speakerToken();
  const ws = new WebSocket(`${ctx.wsBase}/ws?token=${encodeURIComponent(token)}`);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const created = new Promise<string>((resolve, reject) => {
    ws.on("message", (data) => {
      const m = JSON.parse(String(data)) as { type: string; sessionId?: string; message?: string };
      if (m.type === "sessionCreated" && m.sessionId) resolve(m.sessionId);
      else if (m.type === "error") reject(new Error(m.message));
    });
  });
  ws.send(JSON.stringify({ action: "createSession", sourceLanguage: "en", title: "Bench: page weight", requestId: "pw" }));
  return { sessionId: await created, close: () => ws.close() };
}

const kb = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;
const sum = (scripts: Script[], key: "bytes" | "gzip") => scripts.reduce((n, s) => n + s[key], 0);

async function run(ctx: BenchContext): Promise<BenchResult> {
  const session = await createSession(ctx);
  const browser = await launchChromium();
  const pages: Record<string, { scripts: Script[]; after: Script[]; gzipKb: number; rawKb: number; prefetchedGzipKb: number }> = {};
  let onListen: Script[] = [];
  const documents: Record<string, { bytes: number; gzip: number }> = {};
  try {
    for (const [name, path] of [
      ["join page (/join/[sessionId])", `/join/${session.sessionId}?lang=en`],
      ["join by code (/join)", "/join"],
      ["landing (/)", "/"],
    ] as const) {
      const context = await listenerContext(browser, ctx.baseUrl);
      const page = await context.newPage();
      const { scripts, pending } = collectScripts(page);
      const response = await page.goto(path, { waitUntil: "networkidle" });
      await Promise.all(pending);
      // Scripts inline in the HTML run before the load event too.
      const inline = await page.evaluate(() => [...document.scripts].filter((el) => !el.src && el.type !== "application/json").map((el) => el.textContent ?? ""));
      inline.forEach((text, i) => {
        const body = Buffer.from(text);
        if (body.length > 0) scripts.push({ url: `(inline script ${i + 1} in the HTML)`, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length, beforeLoad: true });
      });
      const html = response ? await response.body() : Buffer.alloc(0);
      documents[name] = { bytes: html.length, gzip: gzipSync(html, { level: 9 }).length };
      const firstLoad = scripts.filter((x) => x.beforeLoad);
      const prefetched = scripts.filter((x) => !x.beforeLoad);
      pages[name] = { scripts: firstLoad, after: prefetched, gzipKb: kb(sum(firstLoad, "gzip")), rawKb: kb(sum(firstLoad, "bytes")), prefetchedGzipKb: kb(sum(prefetched, "gzip")) };
      if (path.startsWith("/join/")) {
        // What Listen adds: the WebRTC module, loaded on demand.
        const seen = scripts.length;
        await page.getByTestId("listen-button").click();
        await page.locator('[data-testid="audio-player"]').waitFor();
        await page.waitForLoadState("networkidle");
        await Promise.all(pending);
        onListen = scripts.slice(seen);
      }
      await context.close();
    }
  } finally {
    await browser.close();
    session.close();
  }
  const join = pages["join page (/join/[sessionId])"]!;
  const rows = (scripts: Script[]) =>
    [...scripts].sort((a, b) => b.gzip - a.gzip).map((s) => `| \`${s.url.replace(/^\/_next\/static\//, "")}\` | ${kb(s.bytes)} | ${kb(s.gzip)} |`);
  const markdown = [
    "First load: the scripts a fresh phone-sized Chromium context runs for each page before its load event (fetched, or inline in the HTML),",
    "each gzip-compressed (level 9). After the load event the App Router prefetches the routes of visible links (/join, /speaker), and the",
    "listener page's WebRTC module is fetched while the HTML parses (modulepreload) when the page starts in a mode that needs the original",
    "voice, so it counts as first load here; a translation-only page never fetches it. What the Listen button still loads is listed apart.",
    "The HTML column is the whole document (with the listener page's inline CSS and script), gzip.",
    "",
    "| page | first-load scripts | raw KB | gzip KB | after load, gzip KB | HTML gzip KB |",
    "|---|---|---|---|---|---|",
    ...Object.entries(pages).map(([name, p]) => `| ${name} | ${p.scripts.length} | ${p.rawKb} | ${p.gzipKb} | ${p.prefetchedGzipKb} | ${kb(documents[name]?.gzip ?? 0)} |`),
    `| + on Listen | ${onListen.length} | ${kb(sum(onListen, "bytes"))} | ${kb(sum(onListen, "gzip"))} | | |`,
    "",
    "The landing page and the code-entry page are React pages: their figure is mostly what React 19 and the Next.js 16 App Router runtime",
    "weigh. The listener page ships no React: its HTML is rendered by a route handler and its one script (ListenerSession + a DOM view) is",
    "inline; the WebRTC module (viewer + KVS SDK, no zod: tests/unit/listener-bundle.test.ts) is an ES module, preloaded and imported only",
    "for modes that play the original.",
    "",
    "Join page, script by script (after load included):",
    "",
    "| script | raw KB | gzip KB |",
    "|---|---|---|",
    ...rows([...join.scripts, ...join.after]),
    "",
    "Loaded on Listen:",
    "",
    "| script | raw KB | gzip KB |",
    "|---|---|---|",
    ...rows(onListen),
  ].join("\n");
  return {
    targets: [{ metric: "listener join page, first-load JS (gzip)", target: `<= ${BUDGET_KB} KB`, measured: `${join.gzipKb} KB`, met: join.gzipKb <= BUDGET_KB }],
    data: { pages, onListen: { scripts: onListen, gzipKb: kb(sum(onListen, "gzip")) } },
    markdown,
  };
}

export const pageWeight: Benchmark = {
  name: "page-weight",
  title: "Page weight: the listener page's JavaScript",
  run,
};
