/**
 * Where a phone's main thread spends the listener join: one join at 4x CPU
 * (as the listener-join benchmark does it: fresh context, tap at the first
 * contentful paint through CDP touch input), with a Chromium trace of the
 * listener's renderer. Prints the main thread's tasks over 4 ms from
 * navigation start, each with its biggest inner events, and the page's
 * marks, so each phase's time can be put on the work that filled it.
 *
 *   node --import tsx bench/tools/trace-listener-join.ts [--cpu 4] [--save trace.json]
 *
 * Needs a production build (`npx next build`); starts its own embedded server.
 */
import { writeFileSync } from "node:fs";
import type { CDPSession } from "@playwright/test";
import { addInitScript, keepAudioServiceUp, launchChromium, listenerContext, startLiveSpeaker } from "../../tests/e2e/support/harness";
import { watchFirstAudio } from "../../tests/e2e/support/instrument";
import { startServer, stopServer } from "../../tests/e2e/support/server";
import { freePort } from "../measure";

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const cpu = Number(option("--cpu") ?? 4);
const save = option("--save");
const profile = args.includes("--profile");


interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time by function (the page's JavaScript and the browser's work it caused), top 25. */
function printProfile(p: CpuProfile, html: string): void {
  // Where the page's inline script starts (the profile's positions are the document's): each function is named
  // with the text at its position, since the script is minified.
  const lines = html.split("\n");
  const near = (line: number, column: number) => (lines[line] ?? "").slice(column, column + 60).replace(/\s+/g, " ");
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const file = f.url.split("/").pop()?.split("?")[0] ?? "";
    const inPage = f.url.includes("/join/") && !f.url.includes("/join/assets/");
    const key = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}:${f.columnNumber + 1}${inPage ? `  «${near(f.lineNumber, f.columnNumber)}»` : ""}`;
    self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const top = [...self].filter(([k]) => !k.startsWith("(idle)") && !k.startsWith("(program)")).sort((a, b) => b[1] - a[1]).slice(0, 25);
  console.log("self time (ms), top functions:");
  for (const [k, us] of top) console.log(`${(us / 1000).toFixed(1).padStart(8)}  ${k}`);
}

async function collect(cdp: CDPSession): Promise<TraceEvent[]> {
  const events: TraceEvent[] = [];
  cdp.on("Tracing.dataCollected", (e) => {
    events.push(...(e.value as unknown as TraceEvent[]));
  });
  const done = new Promise<void>((resolve) => cdp.once("Tracing.tracingComplete", () => resolve()));
  await cdp.send("Tracing.end");
  await done;
  return events;
}

async function main(): Promise<void> {
  const port = await freePort();
  const server = startServer(port, "memory", { EARSHOT_LOG_LEVEL: "warn" });
  const baseURL = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${baseURL}/api/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 600) throw new Error("server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  const speakerBrowser = await launchChromium();
  const browser = await launchChromium();
  const audioUp = await keepAudioServiceUp(browser);
  try {
    const speaker = await startLiveSpeaker(speakerBrowser, baseURL, "Trace");
    // Where the button is (same layout every time).
    const probe = await listenerContext(browser, baseURL);
    const probePage = await probe.newPage();
    await probePage.goto(`/join/${speaker.sessionId}?lang=en`);
    const box = (await probePage.getByTestId("listen-button").boundingBox())!;
    await probe.close();

    const context = await listenerContext(browser, baseURL, { bypassCSP: true });
    await addInitScript(context, watchFirstAudio, 0.01);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    if (cpu > 1) await cdp.send("Emulation.setCPUThrottlingRate", { rate: cpu });
    await cdp.send("Page.enable");
    await cdp.send("Page.setLifecycleEventsEnabled", { enabled: true });
    const painted = new Promise<void>((resolve) => cdp.on("Page.lifecycleEvent", (e: { name: string }) => e.name === "firstContentfulPaint" && resolve()));
    const heard = page.waitForEvent("console", { predicate: (m) => m.text() === "earshot:first-audio", timeout: 30_000 });
    await cdp.send("Tracing.start", {
      traceConfig: { includedCategories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "blink.user_timing", "loading", "toplevel", "v8"] },
      transferMode: "ReportEvents",
    });
    if (profile) {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
      await cdp.send("Profiler.start");
    }
    await page.goto(`/join/${speaker.sessionId}?lang=en`, { waitUntil: "commit" });
    await painted;
    const x = box.x + box.width / 2;
    const y = box.y + box.height / 2;
    await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [{ x, y }] });
    await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
    await heard;
    const marks = await page.evaluate(() => ({
      marks: performance.getEntriesByType("mark").map((e) => [e.name, Math.round(e.startTime)]),
      fcp: Math.round(performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1),
      responseEnd: Math.round((performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming).responseEnd),
      firstPacket: Math.round(window.__earshotFirstPacket ?? -1),
      firstAudio: Math.round(window.__earshotFirstAudio ?? -1),
      resources: performance.getEntriesByType("resource").map((e) => {
        const r = e as PerformanceResourceTiming;
        return `${new URL(r.name).pathname} ${Math.round(r.startTime)}-${Math.round(r.responseEnd)}`;
      }),
    }));
    const cpuProfile = profile ? ((await cdp.send("Profiler.stop")) as unknown as { profile: CpuProfile }).profile : undefined;
    const events = await collect(cdp);
    if (save) writeFileSync(save, JSON.stringify({ traceEvents: events }));
    await speaker.context.close();

    // The listener's renderer main thread: the thread that ran the navigation's ParseHTML.
    const parse = events.find((e) => e.name === "ParseHTML");
    if (!parse) throw new Error("no ParseHTML in the trace");
    const main = events.filter((e) => e.pid === parse.pid && e.tid === parse.tid);
    const nav = events.find((e) => e.name === "navigationStart" && e.pid === parse.pid) ?? events.find((e) => e.name === "navigationStart");
    const t0 = nav?.ts ?? parse.ts;
    const ms = (ts: number) => Math.round((ts - t0) / 1000);
    console.log(`page: ${JSON.stringify(marks)}`);
    const tasks = main.filter((e) => e.ph === "X" && e.name === "ThreadControllerImpl::RunTask" && (e.dur ?? 0) >= 4000);
    let busy = 0;
    for (const task of tasks) {
      const end = task.ts + (task.dur ?? 0);
      busy += task.dur ?? 0;
      const inner = main
        .filter((e) => e !== task && e.ph === "X" && e.ts >= task.ts && e.ts + (e.dur ?? 0) <= end && (e.dur ?? 0) >= 1000 && e.name !== "RunTask")
        .sort((a, b) => (b.dur ?? 0) - (a.dur ?? 0))
        .slice(0, 5)
        .map((e) => {
          const data = (e.args?.data ?? {}) as Record<string, unknown>;
          const what = data.url ? ` ${String(data.url).split("/").pop()}` : data.type ? ` ${String(data.type)}` : data.functionName ? ` ${String(data.functionName)}` : "";
          return `${e.name}${what} ${((e.dur ?? 0) / 1000).toFixed(1)}`;
        });
      console.log(`${String(ms(task.ts)).padStart(6)} ms +${((task.dur ?? 0) / 1000).toFixed(1).padStart(6)}  ${inner.join(" | ")}`);
    }
    console.log(`main-thread tasks >= 4 ms: ${(busy / 1000).toFixed(0)} ms in all`);
    if (cpuProfile) printProfile(cpuProfile, await (await fetch(`${baseURL}/join/${speaker.sessionId}?lang=en`)).text());
  } finally {
    await audioUp();
    await browser.close();
    await speakerBrowser.close();
    await stopServer(server);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
