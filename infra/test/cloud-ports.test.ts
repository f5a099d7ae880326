/**
 * The cloud ports on their own: KVS signaling channels and API Gateway's
 * management API. AWS is unreachable from the test machine, so the two AWS
 * SDK clients are mocked with aws-sdk-client-mock; everything above the
 * client (naming, idempotency, error mapping) is the real code.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import {
  AccessDeniedException,
  AccountChannelLimitExceededException,
  CreateSignalingChannelCommand,
  DeleteSignalingChannelCommand,
  DescribeSignalingChannelCommand,
  KinesisVideoClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from "@aws-sdk/client-kinesis-video";
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  ForbiddenException,
  GoneException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { KvsChannels } from "../../lib/server/cloud/kvs-channels";
import { createSessionExpiryHandler, type StreamRecord } from "../../lib/server/cloud/session-expiry";
import { ApiGatewayConnections, isGone, managementEndpoint, managementEndpointFromWsUrl } from "../../lib/server/cloud/apigw-connections";
import { EarshotError } from "../../lib/core/errors";
import { channelName } from "../../lib/core/signaling";

const meta = { $metadata: {} };
const arnOf = (name: string) => `arn:aws:kinesisvideo:eu-west-1:123456789012:channel/${name}/1700000000000`;

describe("KvsChannels", () => {
  const kvs = mockClient(KinesisVideoClient);
  const channels = () => new KvsChannels(new KinesisVideoClient({ region: "eu-west-1" }), { prefix: "esx-", pollMs: 1, activeTimeoutMs: 200 });

  beforeEach(() => kvs.reset());

  function activeChannels() {
    kvs.on(CreateSignalingChannelCommand).callsFake((input: { ChannelName: string }) => ({ ChannelARN: arnOf(input.ChannelName) }));
    kvs.on(DescribeSignalingChannelCommand).callsFake((input: { ChannelName: string }) => ({
      ChannelInfo: { ChannelName: input.ChannelName, ChannelARN: arnOf(input.ChannelName), ChannelStatus: "ACTIVE", Version: "v1" },
    }));
  }

  it("creates one SINGLE_MASTER channel per shard, named by channelName()", async () => {
    activeChannels();
    await channels().ensure("pure-psalm-481", 3);
    const created = kvs.commandCalls(CreateSignalingChannelCommand).map((c) => c.args[0].input);
    expect(created.map((i) => i.ChannelName).sort()).toEqual([0, 1, 2].map((s) => channelName("esx-", "pure-psalm-481", s)));
    expect(created.map((i) => i.ChannelName)).toContain("esx-pure-psalm-481-2");
    for (const input of created) expect(input.ChannelType).toBe("SINGLE_MASTER");
  });

  it("treats ResourceInUseException on create as success and still waits for ACTIVE", async () => {
    kvs.on(CreateSignalingChannelCommand).rejects(new ResourceInUseException({ message: "exists", ...meta }));
    kvs
      .on(DescribeSignalingChannelCommand)
      .resolvesOnce({ ChannelInfo: { ChannelStatus: "CREATING", ChannelARN: arnOf("esx-a-0") } })
      .resolves({ ChannelInfo: { ChannelStatus: "ACTIVE", ChannelARN: arnOf("esx-a-0") } });
    await expect(channels().ensure("a", 1)).resolves.toBeUndefined();
    expect(kvs.commandCalls(DescribeSignalingChannelCommand).length).toBe(2);
  });

  it("fails when a channel never becomes ACTIVE", async () => {
    kvs.on(CreateSignalingChannelCommand).resolves({});
    kvs.on(DescribeSignalingChannelCommand).resolves({ ChannelInfo: { ChannelStatus: "CREATING", ChannelARN: arnOf("esx-a-0") } });
    await expect(channels().ensure("a", 1)).rejects.toThrow(/not ACTIVE/);
  });

  it("maps the account's channel quota to CHANNEL_FULL and passes other errors through", async () => {
    kvs.on(CreateSignalingChannelCommand).rejects(new AccountChannelLimitExceededException({ message: "quota", ...meta }));
    const quota = await channels().ensure("a", 1).catch((e: unknown) => e);
    expect(quota).toBeInstanceOf(EarshotError);
    expect((quota as EarshotError).code).toBe("CHANNEL_FULL");

    kvs.reset();
    kvs.on(CreateSignalingChannelCommand).rejects(new AccessDeniedException({ message: "denied", ...meta }));
    await expect(channels().ensure("a", 1)).rejects.toThrow(/denied/);
  });

  it("deletes each shard's channel by ARN and version", async () => {
    activeChannels();
    kvs.on(DeleteSignalingChannelCommand).resolves({});
    await channels().remove("pure-psalm-481", 2);
    const deleted = kvs.commandCalls(DeleteSignalingChannelCommand).map((c) => c.args[0].input);
    expect(deleted).toHaveLength(2);
    expect(deleted).toContainEqual({ ChannelARN: arnOf("esx-pure-psalm-481-0"), CurrentVersion: "v1" });
    expect(deleted).toContainEqual({ ChannelARN: arnOf("esx-pure-psalm-481-1"), CurrentVersion: "v1" });
  });

  it("treats a missing channel as already removed (describe or delete answering ResourceNotFound)", async () => {
    kvs.on(DescribeSignalingChannelCommand).rejects(new ResourceNotFoundException({ message: "nope", ...meta }));
    await expect(channels().remove("gone", 1)).resolves.toBeUndefined();
    expect(kvs.commandCalls(DeleteSignalingChannelCommand)).toHaveLength(0);

    kvs.reset();
    activeChannels();
    kvs.on(DeleteSignalingChannelCommand).rejects(new ResourceNotFoundException({ message: "raced", ...meta }));
    await expect(channels().remove("raced", 1)).resolves.toBeUndefined();
    expect(kvs.commandCalls(DeleteSignalingChannelCommand)).toHaveLength(1);
  });

  it("does not delete a channel that is already DELETING, and surfaces real failures", async () => {
    kvs.on(DescribeSignalingChannelCommand).resolves({ ChannelInfo: { ChannelStatus: "DELETING", ChannelARN: arnOf("esx-d-0") } });
    await channels().remove("d", 1);
    expect(kvs.commandCalls(DeleteSignalingChannelCommand)).toHaveLength(0);

    kvs.reset();
    activeChannels();
    kvs.on(DeleteSignalingChannelCommand).rejects(new AccessDeniedException({ message: "denied", ...meta }));
    await expect(channels().remove("d", 1)).rejects.toThrow(/denied/);
  });
});

describe("ApiGatewayConnections", () => {
  const apigw = mockClient(ApiGatewayManagementApiClient);
  beforeEach(() => apigw.reset());
  afterEach(() => apigw.reset());

  const port = (onGone?: (id: string) => void) =>
    ApiGatewayConnections.forEndpoint("https://abc123.execute-api.eu-west-1.amazonaws.com/live", "eu-west-1", { onGone });

  it("posts the message as JSON and resolves true", async () => {
    apigw.on(PostToConnectionCommand).resolves({});
    await expect(port().post("c1", { type: "heartbeatAck", timestamp: 5 })).resolves.toBe(true);
    const input = apigw.commandCalls(PostToConnectionCommand)[0]!.args[0].input;
    expect(input.ConnectionId).toBe("c1");
    expect(JSON.parse(new TextDecoder().decode(input.Data as Uint8Array))).toEqual({ type: "heartbeatAck", timestamp: 5 });
  });

  it("answers GoneException with false and reports the connection once", async () => {
    apigw.on(PostToConnectionCommand).rejects(new GoneException({ message: "gone", ...meta }));
    const gone: string[] = [];
    await expect(port((id) => gone.push(id)).post("c2", { type: "heartbeatAck", timestamp: 1 })).resolves.toBe(false);
    expect(gone).toEqual(["c2"]);
  });

  it("throws anything that is not gone", async () => {
    apigw.on(PostToConnectionCommand).rejects(new ForbiddenException({ message: "forbidden", ...meta }));
    const gone: string[] = [];
    await expect(port((id) => gone.push(id)).post("c3", { type: "heartbeatAck", timestamp: 1 })).rejects.toThrow(/forbidden/);
    expect(gone).toEqual([]);
  });

  it("closes with DeleteConnection, a gone connection being already closed", async () => {
    apigw.on(DeleteConnectionCommand).rejects(new GoneException({ message: "gone", ...meta }));
    await expect(port().close("c4", 1000, "bye")).resolves.toBeUndefined();
    expect(apigw.commandCalls(DeleteConnectionCommand)[0]!.args[0].input).toEqual({ ConnectionId: "c4" });

    apigw.reset();
    apigw.on(DeleteConnectionCommand).rejects(new ForbiddenException({ message: "forbidden", ...meta }));
    await expect(port().close("c5")).rejects.toThrow(/forbidden/);
  });

  it("recognises a 410 without the modeled class as gone", () => {
    const plain = Object.assign(new Error("Gone"), { name: "SomethingElse", $metadata: { httpStatusCode: 410 } });
    expect(isGone(plain)).toBe(true);
    expect(isGone(new Error("other"))).toBe(false);
  });

  it("derives the management endpoint of a stage from its client URL", () => {
    expect(managementEndpointFromWsUrl("wss://abc123.execute-api.eu-west-1.amazonaws.com/live")).toBe("https://abc123.execute-api.eu-west-1.amazonaws.com/live");
    expect(managementEndpointFromWsUrl("ws://127.0.0.1:3000/ws/")).toBe("http://127.0.0.1:3000/ws");
    expect(() => managementEndpointFromWsUrl("https://example.org/")).toThrow(/WebSocket/);
  });

  it("derives the management endpoint from the event's domain and stage", () => {
    expect(managementEndpoint({ domainName: "abc123.execute-api.eu-west-1.amazonaws.com", stage: "live", apiId: "abc123" }, "eu-west-1")).toBe(
      "https://abc123.execute-api.eu-west-1.amazonaws.com/live",
    );
    // Behind a custom domain the execute-api endpoint is built from the API id.
    expect(managementEndpoint({ domainName: "ws.earshot.example.org", stage: "live", apiId: "abc123" }, "eu-west-1")).toBe(
      "https://abc123.execute-api.eu-west-1.amazonaws.com/live",
    );
  });
});

describe("session expiry (sessions stream -> channel removal)", () => {
  const kvs = mockClient(KinesisVideoClient);
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const handler = () =>
    createSessionExpiryHandler({ channels: new KvsChannels(new KinesisVideoClient({ region: "eu-west-1" }), { prefix: "esx-" }), logger: silent });
  const ttl = { type: "Service", principalId: "dynamodb.amazonaws.com" };
  const removed = (eventID: string, sessionId: string, channelCount: number, userIdentity?: StreamRecord["userIdentity"]): StreamRecord => ({
    eventID,
    eventName: "REMOVE",
    ...(userIdentity ? { userIdentity } : {}),
    dynamodb: { OldImage: { sessionId: { S: sessionId }, channelCount: { N: String(channelCount) } } },
  });

  beforeEach(() => {
    kvs.reset();
    kvs.on(DescribeSignalingChannelCommand).callsFake((input: { ChannelName: string }) => ({
      ChannelInfo: { ChannelName: input.ChannelName, ChannelARN: arnOf(input.ChannelName), ChannelStatus: "ACTIVE", Version: "v1" },
    }));
    kvs.on(DeleteSignalingChannelCommand).resolves({});
  });

  it("deletes every shard's channel of a session TTL removed", async () => {
    const out = await handler()({ Records: [removed("e1", "pure-psalm-481", 2, ttl)] });
    expect(out.batchItemFailures).toEqual([]);
    expect(kvs.commandCalls(DeleteSignalingChannelCommand).map((c) => c.args[0].input.ChannelARN).sort()).toEqual([
      arnOf("esx-pure-psalm-481-0"),
      arnOf("esx-pure-psalm-481-1"),
    ]);
  });

  it("ignores deletions made by the app and other events", async () => {
    await handler()({ Records: [removed("e2", "by-app", 1), { eventID: "e3", eventName: "MODIFY", userIdentity: ttl }] });
    expect(kvs.calls()).toHaveLength(0);
  });

  it("reports the record whose channels could not be deleted, so Lambda retries it", async () => {
    kvs.on(DeleteSignalingChannelCommand).rejects(new AccessDeniedException({ message: "denied", ...meta }));
    const out = await handler()({ Records: [removed("e4", "stuck", 1, ttl)] });
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: "e4" }]);
  });
});
