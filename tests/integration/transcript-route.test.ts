import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { NextRequest } from "next/server";
import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import { setServices } from "../../lib/server/services";
import { attachSpeech, createSession, joinAsListener, startTestRuntime, type TestClient } from "./harness";
import { speechServicesForTests } from "./speech-services";

/**
 * GET /api/sessions/{id}/transcript, the route handler called as Next calls
 * it, over a session whose segments went through the real pipeline and
 * engines. Who is signed in comes from next-auth's session cookie, which
 * needs Next's request context: that one function (getSpeaker) is replaced
 * here by a stand-in that returns the speaker the test names.
 */

let signedIn: { speakerId: string } | undefined;
vi.mock("@/lib/server/auth/session", () => ({ getSpeaker: async () => signedIn }));
const { GET } = await import("../../app/api/sessions/[sessionId]/transcript/route");

let runtime: EmbeddedRuntime;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
  runtime = await startTestRuntime();
  const speech = await speechServicesForTests(runtime);
  close = speech.close?.bind(speech);
  attachSpeech(runtime, speech);
  setServices(runtime.services);
}, 120_000);

afterAll(async () => {
  setServices(undefined);
  await runtime?.close();
  await close?.();
});

function get(sessionId: string, query = "") {
  return GET(new NextRequest(`http://localhost/api/sessions/${sessionId}/transcript${query}`), { params: Promise.resolve({ sessionId }) });
}

async function say(speaker: TestClient, seq: number, text: string) {
  await speaker.request({ action: "submitTranscript", seq, text, startMs: seq * 3000, endMs: seq * 3000 + 2000, final: true, spokenAt: Date.now() });
  await speaker.next("segmentProcessed", (m) => m.seq === seq);
}

describe("the transcript download", () => {
  it("gives the session's speaker TXT and WebVTT, in all languages or one, during and after the session; nobody else", async () => {
    const { sessionId, speaker } = await createSession(runtime, { speakerId: "owner", targetLanguages: ["es", "ca"] });
    const es = await joinAsListener(runtime, sessionId, "es");
    const ca = await joinAsListener(runtime, sessionId, "ca");
    await say(speaker, 0, "the house is big");
    await say(speaker, 1, "where is the library");

    signedIn = undefined;
    expect((await get(sessionId)).status).toBe(401);
    signedIn = { speakerId: "someone-else" };
    const stranger = await get(sessionId);
    expect(stranger.status).toBe(403);
    expect(await stranger.json()).toMatchObject({ error: { code: "UNAUTHORIZED_ACTION" } });

    signedIn = { speakerId: "owner" };
    const txt = await get(sessionId);
    expect(txt.status).toBe(200);
    expect(txt.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(txt.headers.get("content-disposition")).toBe(`attachment; filename="earshot-${sessionId}.txt"`);
    const text = await txt.text();
    expect(text).toMatch(/The house is big\.\n\s+es: La casa es grande\.\n\s+ca: La casa és gran\./);
    expect(text).toMatch(/Where is the library\./);

    const vtt = await get(sessionId, "?format=vtt&lang=es");
    expect(vtt.headers.get("content-disposition")).toBe(`attachment; filename="earshot-${sessionId}-es.vtt"`);
    const cues = await vtt.text();
    expect(cues.startsWith("WEBVTT")).toBe(true);
    expect(cues).toMatch(/\n1\n\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\nLa casa es grande\.\n/);
    expect(cues).toMatch(/biblioteca/);
    expect(cues).not.toMatch(/house/);

    expect((await get(sessionId, "?format=pdf")).status).toBe(400);
    expect(await (await get(sessionId, "?lang=ja")).json()).toMatchObject({ error: { code: "UNSUPPORTED_LANGUAGE" } });
    expect((await get("quiet-harbor-000")).status).toBe(404);

    // After the end, still there.
    await speaker.request({ action: "endSession" });
    const after = await get(sessionId, "?lang=ca");
    expect(after.status).toBe(200);
    expect(await after.text()).toMatch(/La casa és gran\./);
    await Promise.all([es.close(), ca.close(), speaker.close()]);
  });
});
