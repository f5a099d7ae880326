import { describe, expect, it } from "vitest";
import { masterSessionPolicy, speakerKvsCredentials, type AssumeRoleInput } from "../../lib/server/cloud/speaker-credentials";
import { MASTER_ACTIONS, SPEAKER_TRANSCRIBE_ACTIONS } from "../../lib/server/cloud/kvs-actions";

/**
 * Security review, finding 8 (speaker side): the signed-in role could be
 * MASTER of every channel of the deployment. Now the server assumes the
 * master role with a session policy naming one session's channels.
 * AWS is unreachable here: STS AssumeRole is a fake that records its input;
 * the code under test (the role, the session policy) is ours.
 */
describe("speaker KVS credentials (cloud)", () => {
  const config = {
    aws: { region: "eu-west-1" },
    kvs: { channelPrefix: "earshot-", maxChannelsPerSession: 3, viewersPerChannel: 10, masterRoleArn: "arn:aws:iam::123456789012:role/earshot-kvs-master" },
  };

  it("assumes the master role with a session policy that names only this session's channels", async () => {
    const calls: AssumeRoleInput[] = [];
    const creds = await speakerKvsCredentials("pure-psalm-481", config, async (input, region) => {
      calls.push(input);
      expect(region).toBe("eu-west-1");
      return { accessKeyId: "ASIA", secretAccessKey: "secret", sessionToken: "session", expiration: new Date(1_800_000_000_000) };
    });
    expect(creds).toEqual({ accessKeyId: "ASIA", secretAccessKey: "secret", sessionToken: "session", expiration: 1_800_000_000_000 });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ RoleArn: config.kvs.masterRoleArn, RoleSessionName: "earshot-master-pure-psalm-481", DurationSeconds: 3600 });
    const policy = JSON.parse(calls[0]!.Policy) as { Statement: { Effect: string; Action: string[]; Resource: string[] | string }[] };
    expect(policy.Statement).toEqual([
      {
        Effect: "Allow",
        Action: [...MASTER_ACTIONS],
        Resource: [0, 1, 2].map((k) => `arn:aws:kinesisvideo:eu-west-1:123456789012:channel/earshot-pure-psalm-481-${k}/*`),
      },
      // The same credentials presign the speaker's Transcribe streaming URLs (no resource type; this region only).
      { Effect: "Allow", Action: [...SPEAKER_TRANSCRIBE_ACTIONS], Resource: "*", Condition: { StringEquals: { "aws:RequestedRegion": "eu-west-1" } } },
    ]);
    // Nothing else: no wildcard over channel names (the attack: master of someone else's session).
    for (const r of policy.Statement[0]!.Resource) expect(r).toMatch(/:channel\/earshot-pure-psalm-481-\d\/\*$/);
  });

  it("takes partition and account from the role ARN", () => {
    const policy = masterSessionPolicy({ ...config, kvs: { ...config.kvs, maxChannelsPerSession: 1 } }, "a-b-001", "arn:aws-cn:iam::210987654321:role/x");
    expect(JSON.parse(policy).Statement[0].Resource).toEqual(["arn:aws-cn:kinesisvideo:eu-west-1:210987654321:channel/earshot-a-b-001-0/*"]);
  });

  it("fails with a coded error without a master role or when STS returns no credentials", async () => {
    await expect(speakerKvsCredentials("a-b-001", { ...config, kvs: { ...config.kvs, masterRoleArn: undefined } })).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
    await expect(speakerKvsCredentials("a-b-001", config, async () => ({ accessKeyId: "", secretAccessKey: "" }))).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
  });
});
