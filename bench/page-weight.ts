import { gzipSync } from "node:zlib";
import WebSocket from "ws";
import type { Page, Response } from "@playwright/test";
import type { Benchmark, BenchContext, BenchResult } from "./types";
import { launchChromium, listenerContext } from "../tests/e2e/support/harness";

/**
 * Page weight: the JavaScript a listener's phone downloads. First load is
 * every script the join page fetches until the network is idle, before any
 * interaction; each is gzip-compressed here (zlib, level 9), so the figure
 * does not depend on how the server compresses. The WebRTC module (the KVS
 * SDK) is loaded with import() on Listen and reported separately.
 */

const BUDGET_KB = 130;

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
  const pages: Record<string, { scripts: Script[]; gzipKb: number; rawKb: number; prefetchedGzipKb: number }> = {};
  let onListen: Script[] = [];
  try {
    for (const [name, path] of [
      ["join page (/join/[sessionId])", `/join/${session.sessionId}?lang=de`],
      ["join by code (/join)", "/join"],
      ["landing (/)", "/"],
    ] as const) {
      const context = await listenerContext(browser, ctx.baseUrl);
      const page = await context.newPage();
      const { scripts, pending } = collectScripts(page);
      await page.goto(path, { waitUntil: "networkidle" });
      await Promise.all(pending);
      const firstLoad = scripts.filter((x) => x.beforeLoad);
      const prefetched = scripts.filter((x) => !x.beforeLoad);
      pages[name] = { scripts: firstLoad, gzipKb: kb(sum(firstLoad, "gzip")), rawKb: kb(sum(firstLoad, "bytes")), prefetchedGzipKb: kb(sum(prefetched, "gzip")) };
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
    "First load: the scripts a fresh phone-sized Chromium context requests for each page before its load event, each gzip-compressed (level 9).",
    "After the load event the App Router prefetches the routes of visible links (/join, /speaker); those are listed apart, as is the WebRTC",
    "module the Listen button loads with import().",
    "",
    "| page | first-load scripts | raw KB | gzip KB | prefetched after load, gzip KB |",
    "|---|---|---|---|---|",
    ...Object.entries(pages).map(([name, p]) => `| ${name} | ${p.scripts.length} | ${p.rawKb} | ${p.gzipKb} | ${p.prefetchedGzipKb} |`),
    `| + on Listen (WebRTC module, import()) | ${onListen.length} | ${kb(sum(onListen, "bytes"))} | ${kb(sum(onListen, "gzip"))} | |`,
    "",
    "The landing page has next to no code of its own: its figure is what React 19 and the Next.js 16 App Router runtime weigh before any",
    "page code. The join page adds its own components, the control channel and the player (the WebRTC module stays out of the first load).",
    "",
    "Join page, script by script:",
    "",
    "| script | raw KB | gzip KB |",
    "|---|---|---|",
    ...rows(join.scripts),
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
