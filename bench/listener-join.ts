import { cpus } from "node:os";
import type { Browser, BrowserContext, CDPSession, Page } from "@playwright/test";
import type { Benchmark, BenchContext, BenchResult, TargetCheck } from "./types";
import { addInitScript, keepAudioServiceUp, launchChromium, listenerContext, percentile, startLiveSpeaker } from "../tests/e2e/support/harness";
import { watchFirstAudio } from "../tests/e2e/support/instrument";

/**
 * Listener join time (issue 13): from navigating to the join URL to the first
 * audio a person would hear, as a new user does it: each join is a fresh
 * browser context (cold cache, new control connection, new WebRTC
 * connection), one listener at a time (the previous one gone), against one
 * live session. Four profiles:
 *
 * - unthrottled: this machine's Chromium as is;
 * - phone: CPU throttled 4x (CDP Emulation.setCPUThrottlingRate), a phone-class CPU;
 * - phone + network: also ~1.6 Mbps down / 750 kbps up and 150 ms round trip
 *   (CDP Network.emulateNetworkConditions: the page's HTTP and WebSocket
 *   traffic, and its WebRTC packets too: ICE/DTLS take several round trips);
 * - phone, reading: 4x CPU, the tap 1 s after the paint, as a person who
 *   reads the page first (the page connects the audio while they read).
 *
 * Every figure is the page's own performance.now() (zero = navigation start):
 * the HTML received, the Listen control usable (the page's script ran), the
 * tap handled, the phases (control join answered, media grant, signaling
 * connected, ICE/DTLS connected, first RTP packet) and the first audible
 * audio (RMS above a threshold on what the <audio> element plays).
 *
 * Speaker side: the speaker runs in a browser of its own; its CPU time (all
 * of its Chromium processes, CDP SystemInfo.getProcessInfo) during each join,
 * and how long after a listener leaves the speaker's peer connection for it
 * is closed (issue 13.5: the 100th join must cost what the 1st did).
 */

const FIRST_AUDIO_RMS = 0.01;

interface Profile {
  name: string;
  cpu: number;
  network?: { latency: number; downloadThroughput: number; uploadThroughput: number };
  /** The tap comes this long after the paint (a person reading the page first); 0: at the paint. */
  readMs?: number;
}

const PROFILES: Profile[] = [
  { name: "unthrottled", cpu: 1 },
  { name: "phone: 4x CPU", cpu: 4 },
  { name: "phone: 4x CPU + 1.6 Mbps / 150 ms", cpu: 4, network: { latency: 150, downloadThroughput: (1.6e6 / 8) | 0, uploadThroughput: (750e3 / 8) | 0 } },
  { name: "phone: 4x CPU, tap 1 s after the paint", cpu: 4, readMs: 1000 },
];

interface Join {
  responseEnd: number;
  painted: number;
  usable: number;
  tap: number;
  mediaModule: number;
  joined: number;
  grant: number;
  signaling: number;
  iceConnected: number;
  firstPacket: number;
  firstAudio: number;
  /** Speaker's Chromium CPU time during the join (navigation to first audio), ms. */
  speakerCpuMs: number;
  /** Speaker's open peer connections when the join started (the previous listener's should be gone). */
  speakerPeersBefore: number;
  /** After the listener left: ms until the speaker's peer connection for it was closed. */
  freedMs: number;
}

type ProcessInfo = { type: string; id: number; cpuTime: number };

async function browserCpuSeconds(cdp: CDPSession): Promise<number> {
  const { processInfo } = (await cdp.send("SystemInfo.getProcessInfo")) as { processInfo: ProcessInfo[] };
  return processInfo.reduce((n, p) => n + p.cpuTime, 0);
}

async function speakerOpenPeers(speaker: { page: Page }): Promise<number> {
  return speaker.page.evaluate(() => (window.__earshotPeers ?? []).filter((pc) => pc.connectionState !== "closed" && pc.connectionState !== "failed").length);
}

/** The page logged `text` (the instrumentation's signals: nothing polls the throttled page). */
function consoleSignal(page: Page, text: string, timeoutMs: number, what: string): Promise<void> {
  return page.waitForEvent("console", { predicate: (m) => m.text() === text, timeout: timeoutMs }).then(
    () => undefined,
    () => {
      throw new Error(`${what} within ${timeoutMs / 1000} s`);
    },
  );
}

/** Where the Listen button is on a phone-sized page (the server renders the whole layout: the same for every join). */
async function listenButtonCenter(browser: Browser, baseUrl: string, sessionId: string): Promise<{ x: number; y: number }> {
  const context = await listenerContext(browser, baseUrl);
  try {
    const page = await context.newPage();
    await page.goto(`/join/${sessionId}?lang=en`);
    const box = await page.getByTestId("listen-button").boundingBox();
    if (!box) throw new Error("the Listen button has no box");
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  } finally {
    await context.close();
  }
}

async function joinOnce(browser: Browser, ctx: BenchContext, sessionId: string, button: { x: number; y: number }, profile: Profile, speaker: { page: Page }, speakerCdp: CDPSession): Promise<Join> {
  const context: BrowserContext = await listenerContext(browser, ctx.baseUrl, { bypassCSP: true });
  let closed = false;
  try {
    await addInitScript(context, watchFirstAudio, FIRST_AUDIO_RMS);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    if (profile.cpu > 1) await cdp.send("Emulation.setCPUThrottlingRate", { rate: profile.cpu });
    if (profile.network) {
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", { offline: false, ...profile.network });
    }
    await cdp.send("Page.enable");
    await cdp.send("Page.setLifecycleEventsEnabled", { enabled: true });
    const painted = new Promise<void>((resolve) => cdp.on("Page.lifecycleEvent", (e: { name: string }) => e.name === "firstContentfulPaint" && resolve()));
    const speakerPeersBefore = await speakerOpenPeers(speaker);
    const cpu0 = await browserCpuSeconds(speakerCdp);
    const tapReceived = consoleSignal(page, "earshot:tap-received", 30_000, "the tap did not reach the Listen button");
    const heard = consoleSignal(page, "earshot:first-audio", 30_000, "no audible audio");
    void tapReceived.catch(() => undefined);
    void heard.catch(() => undefined);
    await page.goto(`/join/${sessionId}?lang=en`, { waitUntil: "commit" });
    // A person taps Listen the moment it shows: at the first contentful paint (the server's HTML has the whole
    // page, button enabled, and the page's script runs in its head). Through the browser's input, as a finger
    // would: nothing runs in the throttled page to find or check the button.
    await painted;
    if (profile.readMs) await new Promise((r) => setTimeout(r, profile.readMs)); // the person reads the page, then taps
    await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [{ x: button.x, y: button.y }] });
    await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
    await tapReceived;
    await heard;
    const cpu1 = await browserCpuSeconds(speakerCdp);
    // No named functions inside: under tsx they would be wrapped in a helper the page does not have.
    const raw = await page.evaluate(() => ({
      responseEnd: (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined)?.responseEnd ?? -1,
      painted: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1,
      marks: performance.getEntriesByType("mark").map((e) => [e.name, e.startTime] as [string, number]),
      sockets: (window.__earshotSockets ?? []).map((s) => [s.url, s.openedAt ?? -1] as [string, number]),
      timeOrigin: performance.timeOrigin,
      firstPacket: window.__earshotFirstPacket ?? -1,
      firstAudio: window.__earshotFirstAudio ?? -1,
    }));
    const marks = new Map(raw.marks);
    const mark = (name: string) => marks.get(`earshot:${name}`) ?? Number.NaN;
    const signaling = raw.sockets.find(([url, openedAt]) => new URL(url).pathname !== "/ws" && openedAt > 0);
    const finite = (v: number) => (v >= 0 ? v : Number.NaN);
    const m = {
      responseEnd: finite(raw.responseEnd),
      painted: finite(raw.painted),
      usable: mark("ready"),
      tap: mark("tap"),
      mediaModule: mark("media-module"),
      joined: mark("joined"),
      grant: mark("grant"),
      signaling: signaling ? signaling[1] - raw.timeOrigin : Number.NaN,
      iceConnected: mark("media-live"),
      firstPacket: finite(raw.firstPacket),
      firstAudio: finite(raw.firstAudio),
    };
    // The listener leaves: the tab is closed (pagehide runs, as when a person closes it); the speaker should free its peer connection promptly.
    // The emulated network holds each packet for its latency in the browser and drops what it holds when the page
    // goes: the listener's DTLS close alert (which frees the speaker's peer connection at once) was lost, and the
    // speaker waited ~12 s for ICE instead. A phone's packets have left it when the tab closes: the emulation ends first.
    if (profile.network) await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const left = Date.now();
    await page.close({ runBeforeUnload: true });
    await context.close();
    closed = true;
    let freedMs = Number.NaN;
    while (Date.now() - left < 15_000) {
      if ((await speakerOpenPeers(speaker)) === 0) {
        freedMs = Date.now() - left;
        break;
      }
      await new Promise((r) => setTimeout(r, 50)); // polling the speaker page's state
    }
    return { ...m, speakerCpuMs: (cpu1 - cpu0) * 1000, speakerPeersBefore, freedMs };
  } finally {
    if (!closed) await context.close();
  }
}

interface Stat {
  p50: number;
  p95: number;
}

const stat = (values: number[]): Stat => {
  const v = values.filter(Number.isFinite);
  return { p50: Math.round(percentile(v, 50)), p95: Math.round(percentile(v, 95)) };
};

const PHASES: { key: keyof Join; label: string }[] = [
  { key: "responseEnd", label: "HTML received" },
  { key: "painted", label: "first contentful paint (the tap)" },
  { key: "usable", label: "Listen usable (script ran)" },
  { key: "tap", label: "tap handled" },
  { key: "mediaModule", label: "media module loaded" },
  { key: "joined", label: "control join answered" },
  { key: "grant", label: "media grant (getMediaChannel)" },
  { key: "signaling", label: "signaling connected" },
  { key: "iceConnected", label: "ICE/DTLS connected" },
  { key: "firstPacket", label: "first audio packet" },
  { key: "firstAudio", label: "**first audible audio**" },
];

async function run(ctx: BenchContext): Promise<BenchResult> {
  // The phone profile is the one the targets are about: 20 joins; the other rows 10 each (the run has to stay short on 2 cores).
  // CDP's CPU throttling slows this machine's CPU down 4x: what a "phone" is depends on the host, so the host is named.
  const joinsFor = (profile: Profile) => (ctx.quick ? 5 : profile.name === PROFILES[1]!.name ? 20 : 10);
  const speakerBrowser = await launchChromium();
  const browser = await launchChromium();
  const audioUp = await keepAudioServiceUp(browser);
  const byProfile: Record<string, { joins: Join[]; failures: string[] }> = {};
  let order = 0;
  const speakerCostByOrder: { order: number; cpuMs: number; peersBefore: number }[] = [];
  try {
    const speaker = await startLiveSpeaker(speakerBrowser, ctx.baseUrl, "Bench: listener join");
    const speakerCdp = await speakerBrowser.newBrowserCDPSession();
    const button = await listenButtonCenter(browser, ctx.baseUrl, speaker.sessionId);
    ctx.log(`  session ${speaker.sessionId} is live; ${PROFILES.map((p) => `${joinsFor(p)} ${p.name}`).join(", ")} joins, one at a time`);
    for (const profile of PROFILES) {
      const entry = (byProfile[profile.name] = { joins: [] as Join[], failures: [] as string[] });
      for (let i = 0; i < joinsFor(profile); i++) {
        order++;
        try {
          const j = await joinOnce(browser, ctx, speaker.sessionId, button, profile, speaker, speakerCdp);
          entry.joins.push(j);
          speakerCostByOrder.push({ order, cpuMs: j.speakerCpuMs, peersBefore: j.speakerPeersBefore });
          ctx.log(`  ${profile.name} join ${String(i + 1).padStart(2)}: paint ${Math.round(j.painted)}, script ${Math.round(j.usable)}, tap ${Math.round(j.tap)}, joined ${Math.round(j.joined)}, grant ${Math.round(j.grant)}, signaling ${Math.round(j.signaling)}, ICE ${Math.round(j.iceConnected)} ms, first packet ${Math.round(j.firstPacket)} ms, first audio ${Math.round(j.firstAudio)} ms; speaker ${Math.round(j.speakerCpuMs)} ms CPU, freed after ${Math.round(j.freedMs)} ms`);
        } catch (error) {
          entry.failures.push(error instanceof Error ? error.message.split("\n")[0]! : String(error));
          ctx.log(`  ${profile.name} join ${i + 1} failed: ${entry.failures.at(-1)}`);
        }
      }
    }
    await speaker.context.close();
  } finally {
    await audioUp();
    await browser.close();
    await speakerBrowser.close();
  }

  const summary = Object.fromEntries(
    Object.entries(byProfile).map(([name, { joins, failures }]) => [
      name,
      {
        joins: joins.length,
        failures,
        phases: Object.fromEntries(PHASES.map((p) => [p.key, stat(joins.map((j) => j[p.key]))])),
        tapToAudio: stat(joins.map((j) => j.firstAudio - j.tap)),
        speakerCpuMs: stat(joins.map((j) => j.speakerCpuMs)),
        freedMs: stat(joins.map((j) => j.freedMs)),
        speakerPeersBeforeMax: Math.max(0, ...joins.map((j) => j.speakerPeersBefore)),
      },
    ]),
  );
  // The speaker's CPU is measured over each join, and it encodes all the while: compare joins of one row (one join
  // length), the phone row's first five with its last five (the same session, every earlier listener gone).
  const phoneRow = speakerCostByOrder.slice(joinsFor(PROFILES[0]!), joinsFor(PROFILES[0]!) + joinsFor(PROFILES[1]!));
  const firstFive = phoneRow.slice(0, 5).map((s) => s.cpuMs);
  const lastFive = phoneRow.slice(-5).map((s) => s.cpuMs);
  const mean = (v: number[]) => (v.length ? Math.round(v.reduce((a, b) => a + b, 0) / v.length) : Number.NaN);

  const names = PROFILES.map((p) => p.name);
  const row = (label: string, get: (s: (typeof summary)[string]) => Stat) => `| ${label} | ${names.map((n) => (summary[n] ? `${get(summary[n]).p50} / ${get(summary[n]).p95}` : "n/a")).join(" | ")} |`;
  const markdown = [
    `${PROFILES.map((p) => `${joinsFor(p)} joins ${p.name}`).join(", ")}, one after another, each in a fresh phone-sized Chromium context (cold cache) against one live session on this machine (loopback, embedded relay, no TURN); the listener picks the session's source language, so it connects WebRTC (the original voice: the path that needs the most).`,
    `Host: ${cpus().length} × ${cpus()[0]?.model.trim() ?? "unknown CPU"}. CDP's throttling divides this machine's CPU speed, so a "4x" phone is as fast as the host allows: the unthrottled row's first paint gauges the host (compare it before comparing runs from different machines).`,
    "Figures are the page's `performance.now()` (zero = navigation start), **p50 / p95 in ms**. The listener taps Listen at the first contentful paint, through the browser's input (CDP touch events at the button's place; nothing runs in the throttled page to find it): the button is in the server's HTML and the page's script runs in its head, so a tap works from the first paint on. Chromium reports the paint from the page's own main thread, so on a busy page the tap comes some hundreds of ms after the paint itself (about a person's reaction time). The last row taps 1 s after that, as a person who reads the page first.",
    "",
    `| from navigation start to… | ${names.join(" | ")} |`,
    `|---|${names.map(() => "---").join("|")}|`,
    ...PHASES.map((p) => row(p.label, (s) => s.phases[p.key]!)),
    row("tap → first audible audio", (s) => s.tapToAudio),
    "",
    "Phases: the page joins before the tap (`EARSHOT_CONNECT_AHEAD_SECONDS`, 60 s by default): right after its first frame it opens the control socket, joins, asks for its media grant and connects the audio, silent; the tap plays it. So phases may come before the tap. *media module loaded* is the WebRTC module's import() (preloaded by the page's head); *control join* is the `sessionJoined` reply; *media grant* the `getMediaChannel` reply, sent right behind `joinSession` on the same socket; *signaling connected* the relay's WebSocket open; *ICE/DTLS* the peer connection `connected`; *first packet* the remote track's `unmute` (its first RTP packet); *first audible* the played audio's RMS above " +
      `${FIRST_AUDIO_RMS} over 512 samples (an AudioWorklet on the \`<audio>\` element's stream, timed at its output with getOutputTimestamp(); nothing polls the page; the speaker is Chromium's fake microphone playing a 440 Hz tone).`,
    "",
    "Speaker side, per join (the speaker in a browser of its own, unthrottled):",
    "",
    `| | ${names.join(" | ")} |`,
    `|---|${names.map(() => "---").join("|")}|`,
    row("speaker Chromium CPU during the join, ms (p50 / p95)", (s) => s.speakerCpuMs),
    row("listener gone → speaker's peer connection closed, ms (p50 / p95)", (s) => s.freedMs),
    `| speaker peer connections still open when the next join started (max) | ${names.map((n) => summary[n]?.speakerPeersBeforeMax ?? "n/a").join(" | ")} |`,
    "",
    `Phone row: its first 5 joins (joins ${phoneRow[0]?.order}-${phoneRow[4]?.order} of the session) cost the speaker ${mean(firstFive)} ms of CPU on average, its last 5 (joins ${phoneRow.at(-5)?.order}-${phoneRow.at(-1)?.order}, after every earlier listener left) ${mean(lastFive)} ms. Rows differ from each other with their join length: the speaker's CPU is measured over each join, and it encodes audio all the while.`,
    "",
    Object.entries(summary).some(([, s]) => s.failures.length)
      ? `Failed joins: ${Object.entries(summary)
          .flatMap(([n, s]) => s.failures.map((f) => `${n}: \`${f}\``))
          .join("; ")}`
      : "Every join heard audio.",
  ].join("\n");

  const phone = summary[PROFILES[1]!.name];
  const net = summary[PROFILES[2]!.name];
  const ms = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? `${v} ms` : "n/a");
  const ok = (s: (typeof summary)[string] | undefined) => s !== undefined && s.failures.length === 0;
  const targets: TargetCheck[] = [
    { metric: "4x CPU: navigation → first audio, p50", target: "<= 1500 ms", measured: ms(phone?.phases.firstAudio?.p50), met: ok(phone) && (phone?.phases.firstAudio?.p50 ?? Infinity) <= 1500 },
    { metric: "4x CPU: navigation → first audio, p95", target: "<= 2500 ms", measured: ms(phone?.phases.firstAudio?.p95), met: ok(phone) && (phone?.phases.firstAudio?.p95 ?? Infinity) <= 2500 },
    { metric: "4x CPU + network: navigation → first audio, p50", target: "<= 2500 ms", measured: ms(net?.phases.firstAudio?.p50), met: ok(net) && (net?.phases.firstAudio?.p50 ?? Infinity) <= 2500 },
    {
      metric: "speaker: departed listeners' peer connections freed (open at the next join)",
      target: "0",
      measured: String(Math.max(...Object.values(summary).map((s) => s.speakerPeersBeforeMax))),
      met: Object.values(summary).every((s) => s.speakerPeersBeforeMax === 0),
    },
  ];
  return { targets, data: { profiles: summary, speakerCostByOrder }, markdown };
}

export const listenerJoin: Benchmark = {
  name: "listener-join",
  title: "Listener join: from the join URL to the first audio (phone profiles)",
  run,
};
