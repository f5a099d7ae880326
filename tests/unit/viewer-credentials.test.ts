import { beforeEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { KinesisVideoClient } from "@aws-sdk/client-kinesis-video";
import {
  VIEWER_CREDENTIALS_CACHE_MS,
  VIEWER_CREDENTIALS_SECONDS,
  createViewerCredentials,
  viewerSessionPolicy,
} from "../../lib/server/cloud/viewer-credentials";
import { KvsChannels } from "../../lib/server/cloud/kvs-channels";
import { VIEWER_ACTIONS } from "../../lib/server/cloud/kvs-actions";

/**
 * Security review, finding 8 (listener side): guest credentials could
 * ConnectAsViewer to any channel under the prefix with any client id. Now
 * the control plane assumes the viewer role with a session policy naming
 * the listener's one channel, cached per channel for a few minutes.
 * AWS cannot be called from here: STS is mocked with aws-sdk-client-mock
 * (it records the AssumeRole input); the code under test (the session
 * policy, the cache, the access answer) is ours.
 */

const ROLE = "arn:aws:iam::123456789012:role/earshot-kvs-viewer";
const sts = mockClient(STSClient);
let issued = 0;

beforeEach(() => {
  sts.reset();
  issued = 0;
  sts.on(AssumeRoleCommand).callsFake(() => ({
    Credentials: { AccessKeyId: `ASIA${++issued}`, SecretAccessKey: "secret", SessionToken: `token-${issued}`, Expiration: new Date(1_900_000_000_000) },
  }));
});

type Policy = { Version: string; Statement: { Effect: string; Action: string[]; Resource: string[] }[] };

describe("viewer session policy", () => {
  it("allows the four viewer actions on exactly one channel, nothing else", () => {
    const policy = JSON.parse(viewerSessionPolicy("eu-west-1", "earshot-pure-psalm-481-2", ROLE)) as Policy;
    expect(policy).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: [...VIEWER_ACTIONS], Resource: ["arn:aws:kinesisvideo:eu-west-1:123456789012:channel/earshot-pure-psalm-481-2/*"] },
      ],
    });
    expect(policy.Statement[0]!.Action).not.toContain("kinesisvideo:ConnectAsMaster");
  });

  it("takes partition and account from the role ARN; refuses a bad role ARN or channel name", () => {
    const policy = JSON.parse(viewerSessionPolicy("cn-north-1", "c-0", "arn:aws-cn:iam::210987654321:role/v")) as Policy;
    expect(policy.Statement[0]!.Resource).toEqual(["arn:aws-cn:kinesisvideo:cn-north-1:210987654321:channel/c-0/*"]);
    expect(() => viewerSessionPolicy("eu-west-1", "c-0", "not-an-arn")).toThrow(/KVS_VIEWER_ROLE_ARN/);
    expect(() => viewerSessionPolicy("eu-west-1", "earshot-*", ROLE)).toThrow(/channel name/);
    expect(() => viewerSessionPolicy("eu-west-1", "", ROLE)).toThrow(/channel name/);
  });
});

describe("viewer credentials (STS mocked)", () => {
  it("assumes the viewer role for 1 h with the one-channel session policy", async () => {
    const creds = createViewerCredentials({ roleArn: ROLE, region: "eu-west-1", sts: new STSClient({ region: "eu-west-1" }) });
    expect(await creds.forChannel("earshot-pure-psalm-481-0")).toEqual({
      accessKeyId: "ASIA1",
      secretAccessKey: "secret",
      sessionToken: "token-1",
      expiration: 1_900_000_000_000,
    });
    const calls = sts.commandCalls(AssumeRoleCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input).toMatchObject({ RoleArn: ROLE, RoleSessionName: "earshot-viewer-earshot-pure-psalm-481-0", DurationSeconds: VIEWER_CREDENTIALS_SECONDS });
    expect(input.Policy).toBe(viewerSessionPolicy("eu-west-1", "earshot-pure-psalm-481-0", ROLE));
  });

  it("caches per channel for a few minutes: joins to one channel share one call, another channel gets its own", async () => {
    let now = 1_000_000;
    const creds = createViewerCredentials({ roleArn: ROLE, region: "eu-west-1", sts: new STSClient({ region: "eu-west-1" }), now: () => now });
    const burst = await Promise.all(Array.from({ length: 20 }, () => creds.forChannel("earshot-a-0")));
    expect(new Set(burst.map((c) => c.accessKeyId))).toEqual(new Set(["ASIA1"]));
    expect((await creds.forChannel("earshot-a-1")).accessKeyId).toBe("ASIA2");
    now += VIEWER_CREDENTIALS_CACHE_MS - 1;
    expect((await creds.forChannel("earshot-a-0")).accessKeyId).toBe("ASIA1");
    now += 1;
    expect((await creds.forChannel("earshot-a-0")).accessKeyId).toBe("ASIA3");
    const policies = sts.commandCalls(AssumeRoleCommand).map((c) => JSON.parse(c.args[0].input.Policy!) as Policy);
    expect(policies.map((p) => p.Statement[0]!.Resource[0]!.split("/")[1])).toEqual(["earshot-a-0", "earshot-a-1", "earshot-a-0"]);
  });

  it("does not keep a failure: the next join asks STS again; no credentials is an error", async () => {
    const creds = createViewerCredentials({ roleArn: ROLE, region: "eu-west-1", sts: new STSClient({ region: "eu-west-1" }) });
    const answers: (() => unknown)[] = [
      () => {
        throw new Error("Throttling");
      },
      () => ({}),
      () => ({ Credentials: { AccessKeyId: "ASIA1", SecretAccessKey: "secret", SessionToken: "t", Expiration: new Date(1_900_000_000_000) } }),
    ];
    let call = 0;
    sts.on(AssumeRoleCommand).callsFake(() => answers[call++]!());
    await expect(creds.forChannel("earshot-b-0")).rejects.toThrow(/Throttling/);
    await expect(creds.forChannel("earshot-b-0")).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
    expect((await creds.forChannel("earshot-b-0")).accessKeyId).toBe("ASIA1");
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(3);
  });
});

describe("KvsChannels.access (the MediaChannels port in the cloud)", () => {
  const kvs = () => new KinesisVideoClient({ region: "eu-west-1" });

  it("gives a VIEWER its channel and credentials for that channel only; the MASTER names and no credentials", async () => {
    const channels = new KvsChannels(kvs(), {
      prefix: "earshot-",
      viewerCredentials: createViewerCredentials({ roleArn: ROLE, region: "eu-west-1", sts: new STSClient({ region: "eu-west-1" }) }),
    });
    const viewer = await channels.access({ sessionId: "pure-psalm-481", role: "VIEWER", shards: [1], clientId: "v-1", connectionId: "c1" });
    expect(viewer).toEqual({
      channels: [{ shard: 1, channelName: "earshot-pure-psalm-481-1" }],
      signaling: { kind: "kvs", region: "eu-west-1", credentials: { accessKeyId: "ASIA1", secretAccessKey: "secret", sessionToken: "token-1", expiration: 1_900_000_000_000 } },
    });
    const policy = JSON.parse(sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input.Policy!) as Policy;
    expect(policy.Statement[0]!.Resource).toEqual(["arn:aws:kinesisvideo:eu-west-1:123456789012:channel/earshot-pure-psalm-481-1/*"]);
    const master = await channels.access({ sessionId: "pure-psalm-481", role: "MASTER", shards: [0, 1], clientId: "MASTER" });
    expect(master).toEqual({
      channels: [
        { shard: 0, channelName: "earshot-pure-psalm-481-0" },
        { shard: 1, channelName: "earshot-pure-psalm-481-1" },
      ],
      signaling: { kind: "kvs", region: "eu-west-1" },
    });
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it("refuses a VIEWER with a clear error when no viewer role is configured", async () => {
    const channels = new KvsChannels(kvs(), { prefix: "earshot-" });
    await expect(channels.access({ sessionId: "pure-psalm-481", role: "VIEWER", shards: [0], clientId: "v-1" })).rejects.toMatchObject({
      code: "INTERNAL_ERROR",
      message: expect.stringContaining("KVS_VIEWER_ROLE_ARN"),
    });
  });
});
