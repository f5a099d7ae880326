/**
 * Assertions on the synthesized CloudFormation template (no snapshots): the
 * properties that matter for correctness and security, each on its own.
 * Synthesis is offline (environment-agnostic stack, no AWS credentials) and
 * bundles the control Lambda with the local esbuild once for the whole file.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { generateKeyPairPem } from "../../lib/server/tokens";
import { CLIENT_ACTIONS } from "../../lib/core/protocol";
import { TABLES, tableName, type TableDef, type TableKey } from "../../lib/core/schema";
import { loadConfig } from "../../lib/server/config";
import { buildApp } from "../lib/app";
import { MASTER_ACTIONS, VIEWER_ACTIONS } from "../lib/auth";
import { PUBLIC_KEY_PATTERN, type EarshotStack } from "../lib/earshot-stack";
import { SPEAKER_TRANSCRIBE_ACTIONS, SPEECH_LAMBDA_ACTIONS } from "../lib/speech-access";
import { parseSettings, SettingsError } from "../lib/settings";

// Non-default values, so every assertion proves the setting flows through.
const CONTEXT = {
  publicUrl: "https://earshot.example.org/",
  tablePrefix: "esx-",
  channelPrefix: "esxch-",
  logRetentionDays: "14",
  extraCallbackOrigins: "http://localhost:3000",
};

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let outdir: string;
let stack: EarshotStack;
let template: Template;
let resources: Record<string, Json>;
let app: ReturnType<typeof buildApp>["app"];

// Synthesis bundles the Lambdas with esbuild; with other builds sharing this 2-core machine it took
// 88-122 s, past the default 60 s hook timeout.
beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), "earshot-cdk-"));
  ({ app, stack } = buildApp({ outdir, context: CONTEXT }));
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Json>;
  // Bundling three functions with esbuild takes a while on a loaded 2-core machine.
}, 300_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const only = (type: string): [string, Json] => {
  const found = ofType(type);
  expect(found, `exactly one ${type}`).toHaveLength(1);
  return found[0]!;
};

/** The control-plane function: the one the WebSocket integration invokes. */
function controlFunction(): [string, Json] {
  const [, integration] = only("AWS::ApiGatewayV2::Integration");
  const uri = JSON.stringify(integration.Properties.IntegrationUri);
  const found = ofType("AWS::Lambda::Function").filter(([id]) => uri.includes(`"${id}"`));
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** The connection sweep: the function the schedule rule invokes. */
function connectionSweepFunction(): [string, Json] {
  const [, rule] = only("AWS::Events::Rule");
  const id = (rule.Properties.Targets as Json[])[0]!.Arn["Fn::GetAtt"][0] as string;
  return [id, resources[id]!];
}

/** The channel sweeper: the function fed by the sessions stream. */
function sweeperFunction(): [string, Json] {
  const [, mapping] = only("AWS::Lambda::EventSourceMapping");
  const id = (mapping.Properties.FunctionName as Json).Ref as string;
  return [id, resources[id]!];
}

const roleOf = (fn: Json) => (fn.Properties.Role as Json)["Fn::GetAtt"][0] as string;

/** Every policy statement that applies to a role: inline AWS::IAM::Policy resources and the role's own Policies. */
function statementsOf(roleLogicalId: string): Json[] {
  const role = resources[roleLogicalId]!;
  const own = ((role.Properties.Policies ?? []) as Json[]).flatMap((p) => p.PolicyDocument.Statement as Json[]);
  const attached = ofType("AWS::IAM::Policy")
    .filter(([, p]) => (p.Properties.Roles as Json[]).some((r) => r.Ref === roleLogicalId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
  expect(role.Properties.ManagedPolicyArns ?? []).toEqual([]);
  return [...own, ...attached];
}
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** The channel ARN pattern as the template writes it (partition/region/account are pseudo-parameters). */
const channelArn = (prefix: string) => ({
  "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":kinesisvideo:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, `:channel/${prefix}*`]],
});

function roleAssumedByIdentityPool(amr: "authenticated" | "unauthenticated"): string {
  const [id] = ofType("AWS::IAM::Role").find(([, r]) =>
    JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes(`"cognito-identity.amazonaws.com:amr":"${amr}"`),
  )!;
  return id;
}

describe("WebSocket API", () => {
  it("$connect has authorization NONE and no authorizer (the fix note's regression)", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Route", { RouteKey: "$connect", AuthorizationType: "NONE", AuthorizerId: Match.absent() });
    template.resourceCountIs("AWS::ApiGatewayV2::Authorizer", 0);
  });

  it("routes on $request.body.action", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", { ProtocolType: "WEBSOCKET", RouteSelectionExpression: "$request.body.action" });
  });

  it("has $connect, $disconnect, $default and one route per client action, each targeting the Lambda integration", () => {
    const [integrationId, integration] = only("AWS::ApiGatewayV2::Integration");
    expect(integration.Properties.IntegrationType).toBe("AWS_PROXY");
    controlFunction(); // exactly one function behind the integration

    const routes = ofType("AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties as Json);
    const keys = routes.map((r) => r.RouteKey as string).sort();
    expect(keys).toEqual(["$connect", "$disconnect", "$default", ...CLIENT_ACTIONS].sort());
    for (const route of routes) {
      expect(route.Target, route.RouteKey).toEqual({ "Fn::Join": ["", ["integrations/", { Ref: integrationId }]] });
    }
    // API Gateway may invoke the function for each route.
    expect(ofType("AWS::Lambda::Permission").length).toBeGreaterThanOrEqual(routes.length);
  });

  it("throttles the stage and writes access logs with a retention", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "live",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      AccessLogSettings: { DestinationArn: { "Fn::GetAtt": [Match.stringLikeRegexp("AccessLogs"), "Arn"] } },
    });
  });
});

describe("control Lambda", () => {
  it("is Node 20+ on arm64 with a bounded timeout", () => {
    template.resourceCountIs("AWS::Lambda::Function", 3); // control plane, connection sweep, channel sweeper
    for (const [, fn] of ofType("AWS::Lambda::Function")) {
      expect(fn.Properties.Architectures).toEqual(["arm64"]);
      expect(Number(/^nodejs(\d+)\.x$/.exec(fn.Properties.Runtime)?.[1])).toBeGreaterThanOrEqual(20);
    }
    expect(controlFunction()[1].Properties.Timeout).toBeLessThan(29); // under API Gateway's integration timeout
  });

  it.each([
    ["control plane", controlFunction, ["PostToConnection", "CreateSignalingChannel", "TranslateText", "SynthesizeSpeech"]],
    ["connection sweep", connectionSweepFunction, ["GetConnection", "PostToConnection"]],
    ["channel sweeper", sweeperFunction, ["DeleteSignalingChannel"]],
  ] as const)("%s was bundled during synth into a self-contained asset without the embedded runtime", (_name, pick, operations) => {
    const [, fn] = pick();
    const key = fn.Properties.Code.S3Key as string;
    const hash = key.replace(/\.zip$/, "");
    const assetDir = join(outdir, `asset.${hash}`);
    expect(existsSync(join(assetDir, "index.js")), `${assetDir}/index.js`).toBe(true);
    const bundle = readFileSync(join(assetDir, "index.js"), "utf8");
    expect(statSync(join(assetDir, "index.js")).size).toBeGreaterThan(50_000);
    // The AWS clients are inside (pinned versions), not taken from the runtime.
    for (const op of operations) expect(bundle.includes(op), op).toBe(true);
    // Only Node built-ins stay outside (plus the SDK's optional CRT signer, required inside a try).
    const required = [...new Set([...bundle.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!))];
    const external = required.filter((m) => !m.startsWith("node:") && m !== "@aws-sdk/signature-v4-crt");
    expect(external).toEqual([]);
    expect(required).not.toContain("dynalite");
    expect(readdirSync(outdir).some((f) => f.startsWith("bundling-temp-"))).toBe(false);
  });

  it("logs to its own log group with the configured retention", () => {
    for (const [, fn] of ofType("AWS::Lambda::Function")) {
      const groupId = (fn.Properties.LoggingConfig.LogGroup as Json).Ref as string;
      expect(resources[groupId]!.Properties.RetentionInDays).toBe(14);
    }
    // The API's access logs too: no log group of this stack keeps data forever.
    expect(ofType("AWS::Logs::LogGroup").length).toBe(4);
    for (const [, group] of ofType("AWS::Logs::LogGroup")) expect(group.Properties.RetentionInDays).toBe(14);
  });

  it("gets a cloud environment that lib/server/config.ts accepts", async () => {
    const [, fn] = controlFunction();
    const env = fn.Properties.Environment.Variables as Json;
    expect(env).toMatchObject({ EARSHOT_MODE: "cloud", EARSHOT_TABLE_PREFIX: "esx-", KVS_CHANNEL_PREFIX: "esxch-", EARSHOT_PUBLIC_URL: "https://earshot.example.org" });
    expect(env.EARSHOT_TOKEN_PUBLIC_KEY).toEqual({ Ref: "TokenPublicKey" });
    expect(env.EARSHOT_TOKEN_PRIVATE_KEY).toBeUndefined(); // the Lambda only verifies
    expect(JSON.stringify(env.EARSHOT_WS_URL)).toContain("/live");
    // Resolve the deploy-time references to values of the right shape; the rest is literal.
    const { publicKey } = await generateKeyPairPem();
    const resolved: Record<string, string> = {
      AWS_REGION: "eu-west-1", // set by the Lambda runtime
      ...Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === "string")),
      EARSHOT_TOKEN_PUBLIC_KEY: publicKey,
      EARSHOT_WS_URL: "wss://abc123.execute-api.eu-west-1.amazonaws.com/live",
      COGNITO_IDENTITY_POOL_ID: "eu-west-1:0b5e3f4c-1111-4222-8333-944445555666",
      KVS_VIEWER_ROLE_ARN: "arn:aws:iam::123456789012:role/earshot-viewer",
    };
    expect(Object.keys(env).sort()).toEqual(Object.keys(resolved).filter((k) => k !== "AWS_REGION").sort());
    const config = loadConfig(resolved);
    expect(config.mode).toBe("cloud");
    expect(config.tablePrefix).toBe("esx-");
    expect(config.kvs.channelPrefix).toBe("esxch-");
  });

  it("may manage only this deployment's signaling channels, post to its own stage, and use the tables", () => {
    const statements = statementsOf(roleOf(controlFunction()[1]));
    const kvs = statements.filter((s) => asList(s.Action).some((a: string) => a.startsWith("kinesisvideo:")));
    expect(kvs).toHaveLength(1);
    expect(asList(kvs[0]!.Action).sort()).toEqual(
      ["kinesisvideo:CreateSignalingChannel", "kinesisvideo:DeleteSignalingChannel", "kinesisvideo:DescribeSignalingChannel"].sort(),
    );
    expect(kvs[0]!.Resource).toEqual(channelArn("esxch-"));
    const manage = statements.find((s) => asList(s.Action).includes("execute-api:ManageConnections"));
    expect(JSON.stringify(manage?.Resource)).toContain("/live/*/@connections/*");
    const dynamo = statements.filter((s) => asList(s.Action).some((a: string) => a.startsWith("dynamodb:")));
    expect(dynamo.length).toBeGreaterThan(0);
    // Translate and Polly have no resource to scope to: that statement alone is on "*" (see "live translation").
    for (const s of statements) if (s.Sid !== "TranslateAndSynthesize") expect(s.Resource, JSON.stringify(s)).not.toBe("*");
  });
});

describe("live translation", () => {
  const region = { StringEquals: { "aws:RequestedRegion": { Ref: "AWS::Region" } } };

  it("the control Lambda may translate text and synthesize speech, in its region, nothing more of either service", () => {
    const statements = statementsOf(roleOf(controlFunction()[1]));
    const speech = statements.filter((s) => asList(s.Action).some((a: string) => /^(translate|polly|transcribe):/.test(a)));
    expect(speech).toHaveLength(1);
    expect(asList(speech[0]!.Action).sort()).toEqual([...SPEECH_LAMBDA_ACTIONS].sort());
    expect(speech[0]).toMatchObject({ Effect: "Allow", Resource: "*", Condition: region });
    const [id] = controlFunction();
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: roleOf(resources[id]!) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: "TranslateAndSynthesize", Action: ["polly:SynthesizeSpeech", "translate:TranslateText"], Effect: "Allow", Resource: "*" }),
        ]),
      },
    });
  });

  it("the KVS master role (the speaker's session-scoped credentials) may stream to Transcribe; the identity pool's roles and the other functions may not", () => {
    const [masterId] = ofType("AWS::IAM::Role").find(([, r]) => String(r.Properties.Description).startsWith("Earshot speaker MASTER credentials"))!;
    const master = statementsOf(masterId);
    const transcribe = master.filter((s) => asList(s.Action).some((a: string) => a.startsWith("transcribe:")));
    expect(transcribe).toHaveLength(1);
    expect(transcribe[0]).toMatchObject({ Sid: "StreamTranscription", Effect: "Allow", Action: SPEAKER_TRANSCRIBE_ACTIONS[0], Resource: "*", Condition: region });
    const others = [
      ...statementsOf(roleAssumedByIdentityPool("authenticated")),
      ...statementsOf(roleAssumedByIdentityPool("unauthenticated")),
      ...statementsOf(roleOf(controlFunction()[1])),
      ...statementsOf(roleOf(connectionSweepFunction()[1])),
      ...statementsOf(roleOf(sweeperFunction()[1])),
    ];
    expect(others.flatMap((s) => asList(s.Action)).filter((a: string) => a.startsWith("transcribe:"))).toEqual([]);
  });

  it("deploys the segments table (session id + seq, TTL) and lets the control Lambda use it", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      TableName: "esx-segments",
      KeySchema: [{ AttributeName: "sessionId", KeyType: "HASH" }, { AttributeName: "seq", KeyType: "RANGE" }],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: "seq", AttributeType: "N" }]),
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
    });
    const segmentsId = Object.keys(template.findResources("AWS::DynamoDB::Table", { Properties: { TableName: "esx-segments" } }))[0]!;
    const statements = statementsOf(roleOf(controlFunction()[1]));
    const onSegments = statements.filter((s) => JSON.stringify(s.Resource).includes(`"${segmentsId}"`));
    expect(onSegments.flatMap((s) => asList(s.Action))).toEqual(expect.arrayContaining(["dynamodb:PutItem", "dynamodb:Query"]));
  });
});

describe("connection sweep", () => {
  it("runs on a schedule with the control plane's configuration", () => {
    const [, rule] = only("AWS::Events::Rule");
    expect(rule.Properties.ScheduleExpression).toBe("rate(5 minutes)");
    expect(rule.Properties.State).toBe("ENABLED");
    const [, sweep] = connectionSweepFunction();
    const [, control] = controlFunction();
    expect(sweep.Properties.Environment.Variables).toEqual(control.Properties.Environment.Variables);
  });

  it("may ask about, post to and close connections of its own stage, and use the tables; nothing of KVS", () => {
    const statements = statementsOf(roleOf(connectionSweepFunction()[1]));
    const manage = statements.find((s) => asList(s.Action).includes("execute-api:ManageConnections"));
    expect(JSON.stringify(manage?.Resource)).toContain("/live/*/@connections/*");
    expect(statements.flatMap((s) => asList(s.Action)).filter((a: string) => a.startsWith("kinesisvideo:"))).toEqual([]);
  });
});

describe("channel sweeper", () => {
  it("reads the sessions table's stream, woken only by TTL deletions, reporting per-record failures", () => {
    const [, mapping] = only("AWS::Lambda::EventSourceMapping");
    const sessionsId = Object.keys(template.findResources("AWS::DynamoDB::Table", { Properties: { TableName: "esx-sessions" } }))[0]!;
    expect(mapping.Properties.EventSourceArn).toEqual({ "Fn::GetAtt": [sessionsId, "StreamArn"] });
    expect(mapping.Properties.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
    const patterns = (mapping.Properties.FilterCriteria.Filters as Json[]).map((f) => JSON.parse(f.Pattern as string));
    expect(patterns).toEqual([{ eventName: ["REMOVE"], userIdentity: { type: ["Service"], principalId: ["dynamodb.amazonaws.com"] } }]);
    template.hasResourceProperties("AWS::DynamoDB::Table", { TableName: "esx-sessions", StreamSpecification: { StreamViewType: "OLD_IMAGE" } });
    template.hasResourceProperties("AWS::DynamoDB::Table", { TableName: "esx-connections", StreamSpecification: Match.absent() });
  });

  it("may describe and delete this deployment's channels, and create none", () => {
    const [, fn] = sweeperFunction();
    expect(fn.Properties.Environment.Variables).toMatchObject({ KVS_CHANNEL_PREFIX: "esxch-" });
    const kvs = statementsOf(roleOf(fn)).filter((s) => asList(s.Action).some((a: string) => a.startsWith("kinesisvideo:")));
    expect(kvs.flatMap((s) => asList(s.Action)).sort()).toEqual(["kinesisvideo:DeleteSignalingChannel", "kinesisvideo:DescribeSignalingChannel"]);
    for (const s of kvs) expect(s.Resource).toEqual(channelArn("esxch-"));
  });
});

describe("DynamoDB tables from lib/core/schema.ts", () => {
  const cloudKeys = (Object.keys(TABLES) as TableKey[]).filter((k) => !(TABLES[k] as TableDef).embeddedOnly);

  it("deploys every table but the embedded-only ones", () => {
    expect(cloudKeys.length).toBeGreaterThan(0);
    template.resourceCountIs("AWS::DynamoDB::Table", cloudKeys.length);
    for (const k of Object.keys(TABLES) as TableKey[]) {
      const expected = (TABLES[k] as TableDef).embeddedOnly ? 0 : 1;
      expect(Object.keys(template.findResources("AWS::DynamoDB::Table", { Properties: { TableName: tableName("esx-", k) } })), k).toHaveLength(expected);
    }
  });

  it.each(cloudKeys)("%s: keys, on-demand, point-in-time recovery, TTL and indexes as the schema says", (k) => {
    const def: TableDef = TABLES[k];
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      TableName: tableName("esx-", k),
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [{ AttributeName: def.partitionKey.name, KeyType: "HASH" }, ...(def.sortKey ? [{ AttributeName: def.sortKey.name, KeyType: "RANGE" }] : [])],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: def.ttlAttribute ? { AttributeName: def.ttlAttribute, Enabled: true } : Match.absent(),
      GlobalSecondaryIndexes: def.indexes.length
        ? def.indexes.map((ix) =>
            Match.objectLike({
              IndexName: ix.name,
              KeySchema: [{ AttributeName: ix.partitionKey.name, KeyType: "HASH" }, ...(ix.sortKey ? [{ AttributeName: ix.sortKey.name, KeyType: "RANGE" }] : [])],
              Projection: { ProjectionType: "ALL" },
            }),
          )
        : Match.absent(),
    });
  });

  it("has the bySession index on connections", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      TableName: "esx-connections",
      GlobalSecondaryIndexes: Match.arrayWith([Match.objectLike({ IndexName: "bySession" })]),
    });
  });
});

describe("Cognito", () => {
  it("user pool: closed sign-up, strong passwords", () => {
    template.hasResourceProperties("AWS::Cognito::UserPool", {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 12, RequireSymbols: true }) },
    });
  });

  it("app client: secret, code flow, next-auth callback on the public URL", () => {
    template.hasResourceProperties("AWS::Cognito::UserPoolClient", {
      GenerateSecret: true,
      AllowedOAuthFlows: ["code"],
      AllowedOAuthFlowsUserPoolClient: true,
      CallbackURLs: ["https://earshot.example.org/api/auth/callback/cognito", "http://localhost:3000/api/auth/callback/cognito"],
    });
  });

  // Security review, finding 8 (listener side): guest credentials could ConnectAsViewer to any channel under the prefix.
  it("identity pool allows no guests (listeners get channel-scoped credentials from the control plane) and is bound to the user pool client", () => {
    template.hasResourceProperties("AWS::Cognito::IdentityPool", {
      AllowUnauthenticatedIdentities: false,
      CognitoIdentityProviders: [Match.objectLike({ ClientId: { Ref: Match.stringLikeRegexp("NextAuth") } })],
    });
    const [, pool] = only("AWS::Cognito::IdentityPool");
    expect(pool.Properties.AllowClassicFlow ?? false).toBe(false);
  });

  it("guest role has no KVS access (no permissions at all)", () => {
    const id = roleAssumedByIdentityPool("unauthenticated");
    expect(statementsOf(id)).toEqual([]);
    for (const [, p] of [...ofType("AWS::IAM::Policy"), ...ofType("AWS::IAM::ManagedPolicy")]) {
      expect(JSON.stringify(p.Properties.Roles ?? [])).not.toContain(`"${id}"`);
    }
  });

  it("KVS viewer role: the four viewer actions on the prefix as a ceiling, at most 1 h, assumable only by the control Lambda", () => {
    const [viewerId, viewer] = ofType("AWS::IAM::Role").find(([, r]) => String(r.Properties.Description).startsWith("Earshot listener VIEWER credentials"))!;
    expect(viewer.Properties.MaxSessionDuration).toBe(3600);
    const statements = statementsOf(viewerId);
    const actions = statements.flatMap((s) => asList(s.Action as string | string[]));
    expect(actions.sort()).toEqual([...VIEWER_ACTIONS].sort());
    expect(actions).not.toContain("kinesisvideo:ConnectAsMaster");
    for (const s of statements) expect(asList(s.Resource)).toEqual([channelArn("esxch-")]);
    // Trust: the control Lambda's execution role, by ARN, and nothing else.
    const controlRole = roleOf(controlFunction()[1]);
    const trust = viewer.Properties.AssumeRolePolicyDocument.Statement as Json[];
    expect(trust).toHaveLength(1);
    expect(trust[0]).toMatchObject({ Effect: "Allow", Action: "sts:AssumeRole", Principal: { AWS: { "Fn::GetAtt": [controlRole, "Arn"] } } });
    expect(trust[0]!.Condition).toBeUndefined();
    // The only sts:AssumeRole grant on it is the control Lambda's, and that grant names this role only.
    const grants = [...ofType("AWS::IAM::Policy"), ...ofType("AWS::IAM::ManagedPolicy")].flatMap(([, p]) =>
      (p.Properties.PolicyDocument.Statement as Json[])
        .filter((st) => JSON.stringify(st.Resource) === JSON.stringify({ "Fn::GetAtt": [viewerId, "Arn"] }))
        .map((st) => ({ roles: p.Properties.Roles as Json[] | undefined, st })),
    );
    expect(grants).toHaveLength(1);
    expect(grants[0]!.roles).toEqual([{ Ref: controlRole }]);
    expect(grants[0]!.st).toMatchObject({ Effect: "Allow", Action: "sts:AssumeRole" });
    const lambdaAssumes = statementsOf(controlRole).filter((st) => asList(st.Action).includes("sts:AssumeRole"));
    expect(lambdaAssumes).toHaveLength(1);
    expect(lambdaAssumes[0]!.Resource).toEqual({ "Fn::GetAtt": [viewerId, "Arn"] });
    // The Lambda is told which role (config requires it in cloud mode).
    expect(controlFunction()[1].Properties.Environment.Variables.KVS_VIEWER_ROLE_ARN).toEqual({ "Fn::GetAtt": [viewerId, "Arn"] });
    // No other function may assume it.
    for (const [, fn] of [connectionSweepFunction(), sweeperFunction()]) {
      expect(statementsOf(roleOf(fn)).filter((st) => asList(st.Action).includes("sts:AssumeRole"))).toEqual([]);
    }
  });

  // Security review, finding 8: the signed-in role could be MASTER of every channel (one speaker took over another's).
  it("signed-in identity role gets no KVS access at all (no ConnectAsMaster on the prefix)", () => {
    const statements = statementsOf(roleAssumedByIdentityPool("authenticated"));
    const actions = statements.flatMap((s) => asList(s.Action as string | string[]));
    expect(actions.filter((a) => a.startsWith("kinesisvideo:"))).toEqual([]);
  });

  it("KVS master role: MASTER actions on the prefix as a ceiling, assumable only by the Next app's policy, at most 1 h", () => {
    const [masterId, master] = ofType("AWS::IAM::Role").find(([, r]) => String(r.Properties.Description).startsWith("Earshot speaker MASTER credentials"))!;
    expect(master.Properties.MaxSessionDuration).toBe(3600);
    // Trust: this account only; who may assume it is then decided by sts:AssumeRole grants (the web app's policy alone).
    const trust = master.Properties.AssumeRolePolicyDocument.Statement as Json[];
    expect(trust).toHaveLength(1);
    expect(JSON.stringify(trust[0]!.Principal)).toContain(":root");
    // Transcribe streaming (live translation) is its own statement: see that describe.
    const statements = statementsOf(masterId).filter((s) => s.Sid !== "StreamTranscription");
    expect(statements.flatMap((s) => asList(s.Action as string | string[])).sort()).toEqual([...MASTER_ACTIONS].sort());
    for (const s of statements) expect(asList(s.Resource)).toEqual([channelArn("esxch-")]);
    // The only grant of sts:AssumeRole on it in the template is the web app's policy (the other one, the
    // control Lambda's, names the viewer role only: see the viewer role's test).
    const grants = [...ofType("AWS::IAM::Policy"), ...ofType("AWS::IAM::ManagedPolicy")].filter(([, p]) =>
      (p.Properties.PolicyDocument.Statement as Json[]).some(
        (s) => asList(s.Action as string | string[]).includes("sts:AssumeRole") && JSON.stringify(s.Resource).includes(`"${masterId}"`),
      ),
    );
    expect(grants).toHaveLength(1);
    const [, web] = grants[0]!;
    expect(web.Type).toBe("AWS::IAM::ManagedPolicy");
    const assume = (web.Properties.PolicyDocument.Statement as Json[]).find((s) => s.Action === "sts:AssumeRole")!;
    expect(assume.Resource).toEqual({ "Fn::GetAtt": [masterId, "Arn"] });
    // The server names it to the app, which narrows every use to one session (tests/unit/speaker-credentials.test.ts).
    const outputs = template.toJSON().Outputs as Json;
    expect(outputs.KvsMasterRoleArn.Value).toEqual({ "Fn::GetAtt": [masterId, "Arn"] });
  });

  it("Amplify compute role: trusted by Amplify only for this account's apps (SourceAccount and SourceArn)", () => {
    const [, role] = ofType("AWS::IAM::Role").find(([, r]) => r.Properties.Description === "Earshot Next app on Amplify Hosting (SSR compute role)")!;
    const [statement] = role.Properties.AssumeRolePolicyDocument.Statement as Json[];
    expect(statement!.Principal).toEqual({ Service: "amplify.amazonaws.com" });
    expect(statement!.Condition.StringEquals["aws:SourceAccount"]).toEqual({ Ref: "AWS::AccountId" });
    expect(JSON.stringify(statement!.Condition.ArnLike["aws:SourceArn"])).toMatch(/:amplify:.*:apps\/\*/);
  });
});

describe("token key and outputs", () => {
  it("takes the public key as a parameter whose pattern refuses a private key", async () => {
    template.hasParameter("TokenPublicKey", { Type: "String", AllowedPattern: PUBLIC_KEY_PATTERN });
    const { publicKey, privateKey } = await generateKeyPairPem();
    const pattern = new RegExp(PUBLIC_KEY_PATTERN);
    expect(pattern.test(publicKey)).toBe(true);
    expect(pattern.test(publicKey.trim().replace(/\n/g, "\\n"))).toBe(true); // one-line form with literal \n
    expect(pattern.test(`${publicKey.trim()}\n`.replace(/\n/g, "\\n"))).toBe(true); // as awk writes it (trailing \n)
    expect(pattern.test(privateKey)).toBe(false);
    expect(pattern.test(`${publicKey}\n${privateKey}`)).toBe(false);
  });

  it("outputs every non-secret variable the Next app needs in cloud mode", () => {
    const outputs = template.toJSON().Outputs as Json;
    const joined = (outputs.NextAppEnv.Value["Fn::Join"][1] as unknown[]).filter((p): p is string => typeof p === "string").join("");
    const names = [...joined.matchAll(/"([A-Z][A-Z0-9_]+)":/g)].map((m) => m[1]);
    for (const name of ["EARSHOT_MODE", "AWS_REGION", "EARSHOT_PUBLIC_URL", "EARSHOT_WS_URL", "EARSHOT_TABLE_PREFIX", "KVS_CHANNEL_PREFIX", "COGNITO_CLIENT_ID", "COGNITO_ISSUER", "COGNITO_IDENTITY_POOL_ID", "KVS_VIEWER_ROLE_ARN", "KVS_MASTER_ROLE_ARN", "NEXTAUTH_URL"]) {
      expect(names, name).toContain(name);
    }
    for (const secret of ["EARSHOT_TOKEN_PRIVATE_KEY", "COGNITO_CLIENT_SECRET", "NEXTAUTH_SECRET"]) expect(names).not.toContain(secret);
    for (const id of ["WsUrl", "Region", "TablePrefix", "ChannelPrefix", "UserPoolId", "UserPoolClientId", "IdentityPoolId", "CognitoIssuer", "ViewerRoleArn"]) {
      expect(outputs[id], id).toBeDefined();
    }
  });
});

describe("cdk-nag AwsSolutions", () => {
  it("reports no unacknowledged finding", () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});

describe("settings", () => {
  it("refuses bad context with the key named", () => {
    expect(() => parseSettings({ tablePrefix: "no spaces!" })).toThrow(SettingsError);
    expect(() => parseSettings({ publicUrl: "ftp://x" })).toThrow(/publicUrl/);
    expect(() => parseSettings({ cognitoDomainPrefix: "my-aws-login" })).toThrow(/cognitoDomainPrefix/);
  });

  it("defaults to a localhost URL, flagged so the app can warn", () => {
    const s = parseSettings({});
    expect(s.publicUrlDefaulted).toBe(true);
    expect(s.callbackOrigins).toEqual(["http://localhost:3000"]);
    expect(parseSettings(CONTEXT).publicUrl).toBe("https://earshot.example.org");
  });
});
