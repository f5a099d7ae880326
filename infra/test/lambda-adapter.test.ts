/**
 * The Lambda adapter end to end: API Gateway WebSocket events go through the
 * shared control-plane handlers against the REAL embedded store (dynalite in
 * memory, the same SDK code as DynamoDB). AWS itself is unreachable from the
 * test machine, so only the AWS service clients are mocked with
 * aws-sdk-client-mock: the API Gateway management API (what the Lambda posts
 * to connections), Kinesis Video Streams (signaling channels), STS (the
 * listeners' channel-scoped credentials), and Amazon Translate and Polly
 * (live translation).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  ForbiddenException,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import {
  CreateSignalingChannelCommand,
  DeleteSignalingChannelCommand,
  DescribeSignalingChannelCommand,
  KinesisVideoClient,
} from "@aws-sdk/client-kinesis-video";
import { TranslateClient, TranslateTextCommand } from "@aws-sdk/client-translate";
import { PollyClient, SynthesizeSpeechCommand } from "@aws-sdk/client-polly";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { startLocalDynamo, ensureTables, type LocalDynamo } from "../../lib/server/embedded/local-dynamo";
import { createDocumentClient } from "../../lib/server/store/client";
import { Store } from "../../lib/server/store/store";
import { generateKeyPairPem, TokenSigner } from "../../lib/server/tokens";
import { generateSessionId } from "../../lib/core/session-id";
import type { ServerMessage } from "../../lib/core/protocol";
import { createSweepHandler, createWebSocketHandler, type WebSocketEvent, type WebSocketHandler } from "../../lib/server/cloud/lambda-adapter";

const REGION = "eu-west-1";
const DOMAIN = "abc123.execute-api.eu-west-1.amazonaws.com";
const PREFIX = "lam-";
const CHANNEL_PREFIX = "lamch-";

const apigw = mockClient(ApiGatewayManagementApiClient);
const kvs = mockClient(KinesisVideoClient);
const translate = mockClient(TranslateClient);
const polly = mockClient(PollyClient);
const sts = mockClient(STSClient);

/** Ten MPEG-1 layer III frames (128 kbps, 44.1 kHz, 417 bytes each): what Polly's mp3 looks like to a parser. */
const MP3 = Buffer.concat(Array.from({ length: 10 }, () => Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x44]), Buffer.alloc(413)])));

let dynamo: LocalDynamo;
let store: Store;
let signer: TokenSigner;
let env: Record<string, string>;
let handle: WebSocketHandler;
let seq = 0;

beforeAll(async () => {
  dynamo = await startLocalDynamo({ kind: "memory" });
  const doc = createDocumentClient({ aws: { region: REGION, dynamodbEndpoint: dynamo.endpoint } });
  await ensureTables(doc, PREFIX);
  store = new Store(doc, PREFIX);
  const keys = await generateKeyPairPem();
  signer = await TokenSigner.fromPem(keys.privateKey, "earshot");
  env = {
    EARSHOT_MODE: "cloud",
    NODE_ENV: "production",
    AWS_REGION: REGION,
    EARSHOT_DYNAMODB_ENDPOINT: dynamo.endpoint,
    EARSHOT_TABLE_PREFIX: PREFIX,
    KVS_CHANNEL_PREFIX: CHANNEL_PREFIX,
    EARSHOT_PUBLIC_URL: "https://earshot.example.org",
    EARSHOT_WS_URL: `wss://${DOMAIN}/live`,
    EARSHOT_TOKEN_PUBLIC_KEY: keys.publicKey,
    COGNITO_IDENTITY_POOL_ID: "eu-west-1:0b5e3f4c-1111-4222-8333-944445555666",
    KVS_VIEWER_ROLE_ARN: "arn:aws:iam::123456789012:role/earshot-viewer",
    EARSHOT_LOG_LEVEL: "silent",
  };
  handle = createWebSocketHandler({ env });
});

afterAll(async () => {
  apigw.restore();
  kvs.restore();
  translate.restore();
  polly.restore();
  sts.restore();
  await dynamo?.close();
});

const arnOf = (name: string) => `arn:aws:kinesisvideo:${REGION}:123456789012:channel/${name}/1700000000000`;

beforeEach(() => {
  apigw.reset();
  apigw.on(PostToConnectionCommand).resolves({});
  apigw.on(DeleteConnectionCommand).resolves({});
  apigw.on(GetConnectionCommand).resolves({});
  kvs.reset();
  kvs.on(CreateSignalingChannelCommand).callsFake((input: { ChannelName: string }) => ({ ChannelARN: arnOf(input.ChannelName) }));
  kvs.on(DescribeSignalingChannelCommand).callsFake((input: { ChannelName: string }) => ({
    ChannelInfo: { ChannelName: input.ChannelName, ChannelARN: arnOf(input.ChannelName), ChannelStatus: "ACTIVE", Version: "v1" },
  }));
  kvs.on(DeleteSignalingChannelCommand).resolves({});
  sts.reset();
  sts.on(AssumeRoleCommand).callsFake((input: { RoleSessionName: string }) => ({
    Credentials: { AccessKeyId: `ASIA-${input.RoleSessionName}`, SecretAccessKey: "secret", SessionToken: "token", Expiration: new Date(1_900_000_000_000) },
  }));
  translate.reset();
  translate.on(TranslateTextCommand).callsFake((input: { Text: string; SourceLanguageCode: string; TargetLanguageCode: string }) => ({
    TranslatedText: `<${input.TargetLanguageCode}> ${input.Text}`,
    SourceLanguageCode: input.SourceLanguageCode,
    TargetLanguageCode: input.TargetLanguageCode,
  }));
  polly.reset();
  polly.on(SynthesizeSpeechCommand).callsFake(() => ({
    ContentType: "audio/mpeg",
    // The SDK's streaming body: only transformToByteArray is read.
    AudioStream: { transformToByteArray: async () => new Uint8Array(MP3) },
  }));
});

function wsEvent(
  routeKey: string,
  connectionId: string,
  opts: { body?: unknown; query?: Record<string, string>; base64?: boolean } = {},
): WebSocketEvent {
  const raw = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  return {
    requestContext: {
      routeKey,
      connectionId,
      domainName: DOMAIN,
      stage: "live",
      apiId: "abc123",
      eventType: routeKey === "$connect" ? "CONNECT" : routeKey === "$disconnect" ? "DISCONNECT" : "MESSAGE",
      identity: { sourceIp: "198.51.100.7" },
    },
    ...(raw === undefined ? {} : { body: opts.base64 ? Buffer.from(raw).toString("base64") : raw, isBase64Encoded: !!opts.base64 }),
    ...(opts.query ? { queryStringParameters: opts.query } : {}),
  };
}

/** Messages the Lambda posted through the management API, optionally to one connection. */
function sent(connectionId?: string): ServerMessage[] {
  return apigw
    .commandCalls(PostToConnectionCommand)
    .filter((c) => connectionId === undefined || c.args[0].input.ConnectionId === connectionId)
    .map((c) => JSON.parse(new TextDecoder().decode(c.args[0].input.Data as Uint8Array)) as ServerMessage);
}
const lastOfType = <T extends ServerMessage["type"]>(id: string, type: T) =>
  sent(id).filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type).at(-1);

const uid = (label: string) => `${label}-${++seq}-${Date.now().toString(36)}`;

async function speakerSession(): Promise<{ speaker: string; sessionId: string }> {
  const speaker = uid("spk");
  const { token } = await signer.speakerToken({ speakerId: `speaker-${speaker}` });
  expect(await handle(wsEvent("$connect", speaker, { query: { token } }))).toEqual({ statusCode: 200 });
  const body = { action: "createSession", sourceLanguage: "en", title: "Keynote", targetLanguages: ["de", "es"], requestId: "r1" };
  expect(await handle(wsEvent("createSession", speaker, { body }))).toEqual({
    statusCode: 200,
  });
  const created = lastOfType(speaker, "sessionCreated");
  expect(created, JSON.stringify(sent(speaker))).toBeDefined();
  return { speaker, sessionId: created!.sessionId };
}

async function joinedListener(sessionId: string, language = "de"): Promise<string> {
  const listener = uid("lis");
  expect(await handle(wsEvent("$connect", listener, { query: { sessionId, targetLanguage: language } }))).toEqual({ statusCode: 200 });
  await handle(wsEvent("$default", listener, { body: { action: "joinSession", sessionId, targetLanguage: language } }));
  expect(lastOfType(listener, "sessionJoined")).toBeDefined();
  return listener;
}

describe("live translation through the Lambda", () => {
  it("translates a final segment with Amazon Translate, speaks it with Polly, and pushes both to that language's listeners only", async () => {
    const { speaker, sessionId } = await speakerSession();
    expect(lastOfType(speaker, "sessionCreated")).toMatchObject({ targetLanguages: ["de", "es"], recognizer: "server" });
    const de = await joinedListener(sessionId, "de");
    const quiet = uid("lis");
    await handle(wsEvent("$connect", quiet, { query: { sessionId, targetLanguage: "es" } }));
    await handle(wsEvent("$default", quiet, { body: { action: "joinSession", sessionId, targetLanguage: "es", speech: false } }));
    const en = await joinedListener(sessionId, "en");

    // The speaker's browser streams to Transcribe itself: the Lambda says where, with which identity pool.
    await handle(wsEvent("getRecognizer", speaker, { body: { action: "getRecognizer" } }));
    expect(lastOfType(speaker, "recognizer")).toMatchObject({ engine: "aws", region: REGION, identityPoolId: env.COGNITO_IDENTITY_POOL_ID, languageCode: "en-US" });

    const segment = { action: "submitTranscript", seq: 0, text: "good morning everyone", startMs: 0, endMs: 1800, final: true, requestId: "t0" };
    expect(await handle(wsEvent("submitTranscript", speaker, { body: segment }))).toEqual({ statusCode: 200 });
    expect(lastOfType(speaker, "transcriptAccepted")).toMatchObject({ seq: 0, requestId: "t0" });

    // One TranslateText per language with listeners, as a sentence; one SynthesizeSpeech for the language whose listener wants speech.
    const translations = translate.commandCalls(TranslateTextCommand).map((c) => c.args[0].input);
    expect(translations).toHaveLength(2);
    expect(translations.map((t) => [t.TargetLanguageCode, t.Text]).sort()).toEqual([
      ["de", "Good morning everyone."],
      ["es", "Good morning everyone."],
    ]);
    const syntheses = polly.commandCalls(SynthesizeSpeechCommand).map((c) => c.args[0].input);
    expect(syntheses).toEqual([expect.objectContaining({ Text: "<de> Good morning everyone.", VoiceId: "Vicki", Engine: "neural", OutputFormat: "mp3" })]);

    expect(sent(de).filter((m) => m.type === "caption")).toEqual([expect.objectContaining({ seq: 0, language: "de", text: "<de> Good morning everyone.", final: true })]);
    const speech = sent(de).filter((m) => m.type === "speech");
    expect(speech).toEqual([expect.objectContaining({ seq: 0, language: "de", format: "mp3", part: 0, parts: 1 })]);
    expect(Buffer.from((speech[0] as { audio: string }).audio, "base64").equals(MP3)).toBe(true);
    expect(sent(quiet).filter((m) => m.type === "caption")).toEqual([expect.objectContaining({ language: "es", text: "<es> Good morning everyone." })]);
    expect(sent(quiet).filter((m) => m.type === "speech")).toEqual([]);
    expect(sent(en).filter((m) => m.type === "caption")).toEqual([expect.objectContaining({ language: "en", text: "Good morning everyone." })]);
    expect(sent(en).filter((m) => m.type === "speech")).toEqual([]);

    const report = lastOfType(speaker, "segmentProcessed")!;
    expect(report.languages.map((l) => [l.language, l.listeners, l.speechListeners, l.error])).toEqual([
      ["en", 1, 0, undefined],
      ["de", 1, 1, undefined],
      ["es", 1, 0, undefined],
    ]);
    expect((await store.listSegments(sessionId))[0]).toMatchObject({ text: "Good morning everyone.", translations: { de: "<de> Good morning everyone.", es: "<es> Good morning everyone." } });

    // The same sentence again is served from the container's cache: no new TranslateText.
    translate.resetHistory();
    await handle(wsEvent("submitTranscript", speaker, { body: { ...segment, seq: 1, requestId: "t1" } }));
    expect(translate.commandCalls(TranslateTextCommand)).toHaveLength(0);
    expect(sent(de).filter((m) => m.type === "caption" && m.seq === 1)).toHaveLength(1);
  });

  it("reports a Translate failure for one language and still serves the others", async () => {
    translate.on(TranslateTextCommand, { TargetLanguageCode: "es" }).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    const { speaker, sessionId } = await speakerSession();
    const de = await joinedListener(sessionId, "de");
    const es = await joinedListener(sessionId, "es");
    await handle(wsEvent("submitTranscript", speaker, { body: { action: "submitTranscript", seq: 0, text: "a brand new sentence", startMs: 0, endMs: 900, final: true } }));
    expect(sent(de).filter((m) => m.type === "caption")).toHaveLength(1);
    expect(sent(es).filter((m) => m.type === "caption")).toEqual([]);
    const es0 = lastOfType(speaker, "segmentProcessed")!.languages.find((l) => l.language === "es");
    expect(es0?.error?.code).toBe("ENGINE_UNAVAILABLE");
  });
});

describe("Lambda adapter over the shared handlers", () => {
  it("speaker: $connect with a token, createSession creates the KVS channel and replies through the management API", async () => {
    const { speaker, sessionId } = await speakerSession();
    const created = lastOfType(speaker, "sessionCreated")!;
    expect(created.requestId).toBe("r1");
    expect(created.joinUrl).toBe(`https://earshot.example.org/join/${sessionId}`);

    const creates = kvs.commandCalls(CreateSignalingChannelCommand).map((c) => c.args[0].input);
    expect(creates).toEqual([expect.objectContaining({ ChannelName: `${CHANNEL_PREFIX}${sessionId}-0`, ChannelType: "SINGLE_MASTER" })]);

    const session = await store.getSession(sessionId, true);
    expect(session?.speakerConnectionId).toBe(speaker);
    expect((await store.getConnection(speaker))?.role).toBe("speaker");

    // The management client was pointed at the event's own domain and stage.
    const client = apigw.commandCalls(PostToConnectionCommand)[0]!.thisValue as ApiGatewayManagementApiClient;
    const endpoint = await client.config.endpoint!();
    expect(`${endpoint.protocol}//${endpoint.hostname}${endpoint.path}`).toBe(`https://${DOMAIN}/live`);
  });

  it("listener: $connect with ?sessionId&targetLanguage, joinSession on $default; the speaker gets the count at once", async () => {
    const { speaker, sessionId } = await speakerSession();
    const listener = await joinedListener(sessionId, "de");

    const row = await store.getConnection(listener);
    expect(row).toMatchObject({ role: "listener", sessionId, joinedLanguage: "de", sourceIp: "198.51.100.7" });
    expect(lastOfType(listener, "sessionJoined")).toMatchObject({ sessionId, role: "listener", targetLanguage: "de" });
    expect(lastOfType(speaker, "sessionStatus")).toMatchObject({ sessionId, listenerCount: 1, languageDistribution: { de: 1 } });
  });

  // Security review, finding 8 (listener side): credentials that open only the listener's one channel.
  it("getMediaChannel: a listener gets its channel and credentials from AssumeRole on the viewer role scoped to that channel; the speaker gets none", async () => {
    const { speaker, sessionId } = await speakerSession();
    const listener = await joinedListener(sessionId, "de");
    await handle(wsEvent("$default", listener, { body: { action: "getMediaChannel", requestId: "m1" } }));
    const media = lastOfType(listener, "mediaChannel")!;
    const name = `${CHANNEL_PREFIX}${sessionId}-0`;
    expect(media).toMatchObject({ requestId: "m1", role: "VIEWER", channels: [{ shard: 0, channelName: name }] });
    expect(media.signaling).toEqual({
      kind: "kvs",
      region: REGION,
      credentials: { accessKeyId: expect.stringMatching(/^ASIA-earshot-viewer-/), secretAccessKey: "secret", sessionToken: "token", expiration: 1_900_000_000_000 },
    });
    const calls = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ RoleArn: env.KVS_VIEWER_ROLE_ARN, DurationSeconds: 3600 });
    const policy = JSON.parse(calls[0]!.Policy!) as { Statement: { Action: string[]; Resource: string[] }[] };
    expect(policy.Statement).toHaveLength(1);
    expect(policy.Statement[0]!.Resource).toEqual([`arn:aws:kinesisvideo:${REGION}:123456789012:channel/${name}/*`]);
    expect(policy.Statement[0]!.Action).not.toContain("kinesisvideo:ConnectAsMaster");

    // A second listener of the channel within minutes: the container's cache answers, no new AssumeRole.
    const second = await joinedListener(sessionId, "es");
    await handle(wsEvent("$default", second, { body: { action: "getMediaChannel", requestId: "m2" } }));
    expect(lastOfType(second, "mediaChannel")!.signaling).toEqual(media.signaling);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);

    // The speaker's MASTER access names no credentials (its browser asks the Next app for session-scoped ones).
    await handle(wsEvent("$default", speaker, { body: { action: "getMediaChannel", requestId: "m3" } }));
    expect(lastOfType(speaker, "mediaChannel")).toMatchObject({ role: "MASTER", signaling: { kind: "kvs", region: REGION } });
    expect(lastOfType(speaker, "mediaChannel")!.signaling).not.toHaveProperty("credentials");
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it("$connect refuses a bad token (never a downgrade to listener) and an unknown session, with the reason in the body", async () => {
    const bad = uid("bad");
    const refused = await handle(wsEvent("$connect", bad, { query: { token: "not-a-jwt" } }));
    expect(refused.statusCode).toBe(401);
    expect(JSON.parse(refused.body!)).toMatchObject({ error: { code: "UNAUTHORIZED" } });
    expect(await store.getConnection(bad)).toBeUndefined();

    const { sessionId } = await speakerSession();
    const withBadToken = await handle(wsEvent("$connect", uid("bad"), { query: { sessionId, token: "not-a-jwt" } }));
    expect(withBadToken.statusCode).toBe(401);

    const unknown = await handle(wsEvent("$connect", uid("lost"), { query: { sessionId: generateSessionId() } }));
    expect(unknown.statusCode).toBe(404);
    expect(JSON.parse(unknown.body!)).toMatchObject({ error: { code: "SESSION_NOT_FOUND" } });
  });

  it("a malformed message is answered with an error message, and the invocation succeeds", async () => {
    const { sessionId } = await speakerSession();
    const listener = await joinedListener(sessionId);
    expect(await handle(wsEvent("$default", listener, { body: "{not json" }))).toEqual({ statusCode: 200 });
    expect(lastOfType(listener, "error")).toMatchObject({ code: "INVALID_MESSAGE" });
  });

  it("decodes a base64 body", async () => {
    const { sessionId } = await speakerSession();
    const listener = await joinedListener(sessionId);
    await handle(wsEvent("heartbeat", listener, { body: { action: "heartbeat", requestId: "hb" }, base64: true }));
    expect(lastOfType(listener, "heartbeatAck")).toMatchObject({ requestId: "hb" });
  });

  it("$disconnect un-counts the listener and tells the speaker", async () => {
    const { speaker, sessionId } = await speakerSession();
    const listener = await joinedListener(sessionId);
    expect(await handle(wsEvent("$disconnect", listener))).toEqual({ statusCode: 200 });
    expect(await store.getConnection(listener)).toBeUndefined();
    expect((await store.getSession(sessionId, true))?.listenerCount).toBe(0);
    expect(lastOfType(speaker, "sessionStatus")).toMatchObject({ listenerCount: 0 });
  });

  it("GoneException: a listener whose reply finds it gone is cleaned up like a $disconnect", async () => {
    const { speaker, sessionId } = await speakerSession();
    const listener = await joinedListener(sessionId);
    expect((await store.getSession(sessionId, true))?.listenerCount).toBe(1);

    apigw.on(PostToConnectionCommand, { ConnectionId: listener }).rejects(new GoneException({ message: "gone", $metadata: { httpStatusCode: 410 } }));
    expect(await handle(wsEvent("heartbeat", listener, { body: { action: "heartbeat" } }))).toEqual({ statusCode: 200 });

    expect(await store.getConnection(listener)).toBeUndefined();
    expect((await store.getSession(sessionId, true))?.listenerCount).toBe(0);
    expect(lastOfType(speaker, "sessionStatus")).toMatchObject({ listenerCount: 0 });
  });

  it("GoneException: a speaker found gone during a status push loses its row and the session forgets it", async () => {
    const { speaker, sessionId } = await speakerSession();
    apigw.on(PostToConnectionCommand, { ConnectionId: speaker }).rejects(new GoneException({ message: "gone", $metadata: { httpStatusCode: 410 } }));
    await joinedListener(sessionId);

    expect(await store.getConnection(speaker)).toBeUndefined();
    const session = await store.getSession(sessionId, true);
    expect(session?.speakerConnectionId).toBeUndefined();
    expect(session?.status).toBe("active"); // the session outlives the speaker's socket; they may reconnect
  });

  it("endSession tells and closes the listeners and deletes the KVS channel", async () => {
    const { speaker, sessionId } = await speakerSession();
    const listener = await joinedListener(sessionId);
    await handle(wsEvent("endSession", speaker, { body: { action: "endSession", requestId: "end" } }));

    expect(lastOfType(listener, "sessionEnded")).toMatchObject({ sessionId, reason: "ended" });
    expect(apigw.commandCalls(DeleteConnectionCommand).map((c) => c.args[0].input.ConnectionId)).toEqual([listener]);
    expect(kvs.commandCalls(DeleteSignalingChannelCommand).map((c) => c.args[0].input.ChannelARN)).toEqual([arnOf(`${CHANNEL_PREFIX}${sessionId}-0`)]);
    expect((await store.getSession(sessionId, true))?.status).toBe("ended");
  });

  it("answers 500 on a configuration error, touching nothing", async () => {
    const broken = createWebSocketHandler({ env: { ...env, EARSHOT_TOKEN_PUBLIC_KEY: "" }, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    expect(await broken(wsEvent("$connect", uid("x"), { query: { sessionId: generateSessionId() } }))).toEqual({ statusCode: 500 });
    expect(apigw.calls()).toHaveLength(0);
  });
});

describe("scheduled sweep (API Gateway's $disconnect is best-effort)", () => {
  const gone = () => new GoneException({ message: "gone", $metadata: { httpStatusCode: 410 } });

  it("removes a listener API Gateway no longer holds, corrects the count and tells the speaker; keeps the live one", async () => {
    const { speaker, sessionId } = await speakerSession();
    const lost = await joinedListener(sessionId, "de");
    const alive = await joinedListener(sessionId, "es");
    expect((await store.getSession(sessionId, true))?.listenerCount).toBe(2);
    apigw.on(GetConnectionCommand, { ConnectionId: lost }).rejects(gone());

    const report = await createSweepHandler({ env, graceMs: 0 })();
    expect(report).toMatchObject({ removed: expect.any(Number) });
    expect((report as { removed: number }).removed).toBeGreaterThanOrEqual(1);

    expect(await store.getConnection(lost)).toBeUndefined();
    expect(await store.getConnection(alive)).toBeDefined();
    const session = await store.getSession(sessionId, true);
    expect(session?.listenerCount).toBe(1);
    expect(lastOfType(speaker, "sessionStatus")).toMatchObject({ listenerCount: 1, languageDistribution: { es: 1 } });

    // It asked the management API of the stage EARSHOT_WS_URL names.
    const call = apigw.commandCalls(GetConnectionCommand).find((c) => c.args[0].input.ConnectionId === lost)!;
    const endpoint = await (call.thisValue as ApiGatewayManagementApiClient).config.endpoint!();
    expect(`${endpoint.protocol}//${endpoint.hostname}${endpoint.path}`).toBe(`https://${DOMAIN}/live`);
  });

  it("keeps a connection when the management API fails for another reason", async () => {
    const { sessionId } = await speakerSession();
    const listener = await joinedListener(sessionId);
    apigw.on(GetConnectionCommand, { ConnectionId: listener }).rejects(new ForbiddenException({ message: "forbidden", $metadata: {} }));
    await createSweepHandler({ env, graceMs: 0 })();
    expect(await store.getConnection(listener)).toBeDefined();
    expect((await store.getSession(sessionId, true))?.listenerCount).toBe(1);
  });

  it("leaves connections younger than the grace period alone", async () => {
    const { sessionId } = await speakerSession();
    const listener = await joinedListener(sessionId);
    apigw.on(GetConnectionCommand, { ConnectionId: listener }).rejects(gone());
    await createSweepHandler({ env, graceMs: 60_000 })();
    expect(await store.getConnection(listener)).toBeDefined();
  });
});
