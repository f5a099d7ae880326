import { CfnOutput, CfnParameter, Duration, Fn, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { StreamViewType } from "aws-cdk-lib/aws-dynamodb";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import type { RawEnv } from "../../lib/server/config";
import { ListenerIdentity, SpeakerAuth } from "./auth";
import { ConnectionSweep } from "./connection-sweep";
import { ControlApi } from "./control-api";
import type { EarshotSettings } from "./settings";
import { SessionSweeper } from "./session-sweeper";
import { grantSpeakerTranscription, grantTranslationEngines } from "./speech-access";
import { SessionTables } from "./tables";
import { ViewerAccess } from "./viewer-access";
import { WebAppAccess } from "./web-access";

/**
 * One deployment of Earshot's cloud parts: session tables, the WebSocket
 * control channel and its Lambda, speaker sign-in (Cognito user pool),
 * listener credentials for KVS signaling (Cognito identity pool), the
 * scheduled sweep of vanished connections, and the sweeper that deletes
 * expired sessions' signaling channels.
 *
 * Environment-agnostic (no account/region baked in), so it synthesizes with
 * no AWS credentials; `cdk deploy` picks the account and region of the caller.
 */

export interface EarshotStackProps extends StackProps {
  readonly settings: EarshotSettings;
}

/** A variable the Next app reads, and the value this deployment gives it. */
type AppEnv = Partial<Record<keyof RawEnv, string>>;

/** Matches one SPKI PEM block, newlines real or written as \n; refuses a private key by construction. */
export const PUBLIC_KEY_PATTERN = "^\\s*-----BEGIN PUBLIC KEY-----(\\\\n|\\s)+[A-Za-z0-9+/=\\s\\\\n]+-----END PUBLIC KEY-----(\\\\n|\\s)*$";

export class EarshotStack extends Stack {
  readonly tables: SessionTables;
  readonly speakerAuth: SpeakerAuth;
  readonly listenerIdentity: ListenerIdentity;
  readonly controlApi: ControlApi;
  readonly connectionSweep: ConnectionSweep;
  readonly sweeper: SessionSweeper;
  readonly webAccess: WebAppAccess;
  /** Listeners' KVS credentials: assumed by the control Lambda only, scoped to one channel each time. */
  readonly viewerAccess: ViewerAccess;
  /** The variables the Next app needs (also the NextAppEnv output). */
  readonly appEnv: AppEnv;

  constructor(scope: Construct, id: string, props: EarshotStackProps) {
    super(scope, id, props);
    const s = props.settings;
    const removalPolicy = s.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    // The public half of the ES256 pair that signs speaker tokens. The private half
    // stays with the Next app (its host's encrypted env vars) and never enters CloudFormation.
    const tokenPublicKey = new CfnParameter(this, "TokenPublicKey", {
      type: "String",
      description: "EARSHOT_TOKEN_PUBLIC_KEY: the SPKI PEM public key (ES256) of the key pair the Next app signs speaker tokens with.",
      allowedPattern: PUBLIC_KEY_PATTERN,
      constraintDescription: "must be one PEM block '-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----' (never the private key)",
      minLength: 100,
      maxLength: 1024,
    });

    this.tables = new SessionTables(this, "Tables", {
      tablePrefix: s.tablePrefix,
      removalPolicy,
      streams: { sessions: StreamViewType.OLD_IMAGE },
    });

    this.speakerAuth = new SpeakerAuth(this, "SpeakerAuth", {
      callbackOrigins: s.callbackOrigins,
      domainPrefix: s.cognitoDomainPrefix ?? `${s.tablePrefix.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^-+|-+$/g, "")}-${this.account}`,
      removalPolicy,
    });
    this.listenerIdentity = new ListenerIdentity(this, "ListenerIdentity", { speakerAuth: this.speakerAuth });

    const shared: AppEnv = {
      EARSHOT_MODE: "cloud",
      EARSHOT_PUBLIC_URL: s.publicUrl,
      EARSHOT_TABLE_PREFIX: s.tablePrefix,
      KVS_CHANNEL_PREFIX: s.channelPrefix,
      COGNITO_IDENTITY_POOL_ID: this.listenerIdentity.identityPool.identityPoolId,
      EARSHOT_TOKEN_PUBLIC_KEY: tokenPublicKey.valueAsString,
    };

    this.controlApi = new ControlApi(this, "ControlApi", {
      tables: this.tables.all,
      channelPrefix: s.channelPrefix,
      logRetention: s.logRetentionDays as RetentionDays,
      throttle: { rateLimit: s.throttleRate, burstLimit: s.throttleBurst },
      setAccountLogRole: s.apiGatewayAccountRole,
      environment: { ...(shared as Record<string, string>), NODE_ENV: "production" },
    });
    // Listeners' credentials: the control Lambda assumes the viewer role, one channel per session policy.
    this.viewerAccess = new ViewerAccess(this, "ViewerAccess", { channelPrefix: s.channelPrefix, assumer: this.controlApi.handler.role! });
    this.controlApi.handler.addEnvironment("KVS_VIEWER_ROLE_ARN", this.viewerAccess.role.roleArn);
    // The URL is built from the API id (not the stage resource), so this makes no dependency cycle.
    this.controlApi.handler.addEnvironment("EARSHOT_WS_URL", this.controlApi.url);
    // Live translation: the Lambda translates and synthesizes (the speaker's Transcribe grant is on the master role, below).
    grantTranslationEngines(this.controlApi.handler);

    this.connectionSweep = new ConnectionSweep(this, "ConnectionSweep", {
      tables: this.tables.all,
      stage: this.controlApi.stage,
      environment: {
        ...(shared as Record<string, string>),
        NODE_ENV: "production",
        EARSHOT_WS_URL: this.controlApi.url,
        KVS_VIEWER_ROLE_ARN: this.viewerAccess.role.roleArn,
      },
      every: Duration.minutes(s.sweepMinutes),
      logRetention: s.logRetentionDays as RetentionDays,
    });

    this.sweeper = new SessionSweeper(this, "SessionSweeper", {
      sessions: this.tables.tables.sessions,
      channelPrefix: s.channelPrefix,
      logRetention: s.logRetentionDays as RetentionDays,
    });

    this.webAccess = new WebAppAccess(this, "WebApp", { tables: this.tables.all, channelPrefix: s.channelPrefix });
    // The speaker's browser presigns Transcribe URLs with the master role's session-scoped credentials.
    grantSpeakerTranscription(this.webAccess.kvsMasterRole, this);

    this.appEnv = {
      ...shared,
      AWS_REGION: this.region,
      EARSHOT_WS_URL: this.controlApi.url,
      NEXTAUTH_URL: s.publicUrl,
      COGNITO_CLIENT_ID: this.speakerAuth.client.userPoolClientId,
      COGNITO_ISSUER: this.speakerAuth.issuer,
      KVS_MASTER_ROLE_ARN: this.webAccess.kvsMasterRole.roleArn,
      // Config wants it in cloud mode everywhere; only the control Lambda may assume it.
      KVS_VIEWER_ROLE_ARN: this.viewerAccess.role.roleArn,
    };

    // --- outputs: one per variable (description names it), and all of them as one JSON object.
    const outputIds: Record<string, string> = {
      EARSHOT_MODE: "Mode",
      EARSHOT_PUBLIC_URL: "PublicUrl",
      EARSHOT_TABLE_PREFIX: "TablePrefix",
      KVS_CHANNEL_PREFIX: "ChannelPrefix",
      COGNITO_IDENTITY_POOL_ID: "IdentityPoolId",
      KVS_VIEWER_ROLE_ARN: "ViewerRoleArn",
      EARSHOT_TOKEN_PUBLIC_KEY: "TokenPublicKeyEcho",
      AWS_REGION: "Region",
      EARSHOT_WS_URL: "WsUrl",
      NEXTAUTH_URL: "NextAuthUrl",
      COGNITO_CLIENT_ID: "UserPoolClientId",
      COGNITO_ISSUER: "CognitoIssuer",
      KVS_MASTER_ROLE_ARN: "KvsMasterRoleArn",
    };
    for (const [name, value] of Object.entries(this.appEnv)) {
      if (name === "EARSHOT_TOKEN_PUBLIC_KEY") continue; // the operator has it; keep outputs short
      new CfnOutput(this, outputIds[name] ?? name.replace(/[^A-Za-z0-9]/g, ""), { value: value!, description: `Next app env ${name}` });
    }
    new CfnOutput(this, "NextAppEnv", {
      value: Fn.toJsonString(Object.fromEntries(Object.entries(this.appEnv).filter(([k]) => k !== "EARSHOT_TOKEN_PUBLIC_KEY"))),
      description: "Every non-secret variable of the Next app, as one JSON object (secrets: see docs/DEPLOY.md)",
    });
    new CfnOutput(this, "UserPoolId", { value: this.speakerAuth.userPool.userPoolId, description: "Cognito user pool of speakers (create accounts here)" });
    new CfnOutput(this, "HostedUiDomain", { value: this.speakerAuth.domain.baseUrl(), description: "Cognito hosted sign-in domain" });
    new CfnOutput(this, "WebAppPolicyArn", { value: this.webAccess.policy.managedPolicyArn, description: "Attach to the Next app's AWS role (Vercel OIDC)" });
    new CfnOutput(this, "AmplifyComputeRoleArn", { value: this.webAccess.amplifyComputeRole.roleArn, description: "Amplify Hosting SSR compute role" });
    new CfnOutput(this, "ControlFunctionName", { value: this.controlApi.handler.functionName, description: "Control-plane Lambda (logs: /aws/lambda/...)" });
  }
}
