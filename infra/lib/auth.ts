import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import {
  AccountRecovery,
  FeaturePlan,
  Mfa,
  OAuthScope,
  UserPool,
  UserPoolClient,
  UserPoolClientIdentityProvider,
  UserPoolDomain,
} from "aws-cdk-lib/aws-cognito";
import { IdentityPool, UserPoolAuthenticationProvider } from "aws-cdk-lib/aws-cognito-identitypool";
import { PolicyStatement, type IRole } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { VIEWER_ACTIONS } from "../../lib/server/cloud/kvs-actions";
import { kvsChannelArnPattern } from "./kvs-arn";

/**
 * Who may do what:
 * - Speakers sign in to the Next app with next-auth's Cognito provider
 *   (authorization-code flow, confidential client) against this user pool.
 *   Accounts are created by the operator; there is no self sign-up.
 * - Listeners have no account. The identity pool hands them guest (unauthenticated)
 *   credentials whose role may only view signaling channels under the prefix.
 * - The signed-in identity gets no KVS access at all: the speaker's MASTER
 *   credentials come from the Next app, scoped to one session of theirs
 *   (web-access.ts, lib/server/cloud/speaker-credentials.ts).
 */

export { MASTER_ACTIONS, VIEWER_ACTIONS } from "../../lib/server/cloud/kvs-actions";

export interface SpeakerAuthProps {
  /** Origins allowed to receive the OAuth code (`${origin}/api/auth/callback/cognito`); the first is the main one. */
  readonly callbackOrigins: readonly string[];
  /** Hosted-UI domain prefix (globally unique in the region). */
  readonly domainPrefix: string;
  readonly removalPolicy: RemovalPolicy;
}

/** next-auth's Cognito provider calls back here. */
export const NEXTAUTH_COGNITO_CALLBACK_PATH = "/api/auth/callback/cognito";

export class SpeakerAuth extends Construct {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  readonly domain: UserPoolDomain;
  /** COGNITO_ISSUER for next-auth. */
  readonly issuer: string;

  constructor(scope: Construct, id: string, props: SpeakerAuthProps) {
    super(scope, id);
    if (props.callbackOrigins.length === 0) throw new Error("SpeakerAuth needs at least one callback origin.");

    this.userPool = new UserPool(this, "Speakers", {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true }, fullname: { required: false, mutable: true } },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      featurePlan: FeaturePlan.ESSENTIALS,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.userPool).acknowledge({
      id: "AwsSolutions-COG2",
      reason: "MFA is OPTIONAL (TOTP only, no SMS) so an operator can create speakers without a second device; operators may set it to REQUIRED.",
    });
    Validations.of(this.userPool).acknowledge({
      id: "AwsSolutions-COG8",
      reason: "The Plus feature plan is billed per monthly active user; Essentials covers operator-created speaker accounts with hosted sign-in.",
    });
    Validations.of(this.userPool).acknowledge({
      id: "AwsSolutions-COG3",
      reason: "Threat protection (advanced security) needs the Plus feature plan, billed per active user; sign-up is closed and accounts are operator-made.",
    });

    this.domain = this.userPool.addDomain("HostedUi", { cognitoDomain: { domainPrefix: props.domainPrefix } });

    this.client = this.userPool.addClient("NextAuth", {
      generateSecret: true,
      authFlows: {},
      preventUserExistenceErrors: true,
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: props.callbackOrigins.map((o) => `${o}${NEXTAUTH_COGNITO_CALLBACK_PATH}`),
        logoutUrls: [...props.callbackOrigins],
      },
      accessTokenValidity: Duration.hours(1),
      // The ID token is what the Next app exchanges for the speaker's KVS credentials: a talk may last hours.
      idTokenValidity: Duration.hours(12),
      refreshTokenValidity: Duration.days(30),
      enableTokenRevocation: true,
    });

    const stack = Stack.of(this);
    this.issuer = `https://cognito-idp.${stack.region}.${stack.urlSuffix}/${this.userPool.userPoolId}`;
  }
}

export interface ListenerIdentityProps {
  readonly speakerAuth: SpeakerAuth;
  /** KVS_CHANNEL_PREFIX: both roles are scoped to channels whose name starts with it. */
  readonly channelPrefix: string;
}

export class ListenerIdentity extends Construct {
  readonly identityPool: IdentityPool;
  /** Guests (listeners): view only. */
  readonly viewerRole: IRole;
  /** Signed-in speakers: no KVS access (their MASTER credentials come from the Next app, per session). */
  readonly speakerRole: IRole;

  constructor(scope: Construct, id: string, props: ListenerIdentityProps) {
    super(scope, id);
    this.identityPool = new IdentityPool(this, "Pool", {
      allowUnauthenticatedIdentities: true,
      // Guest credentials from the enhanced flow are intersected with Cognito's
      // scope-down policies, which do not include kinesisvideo:*; listeners
      // therefore take the basic flow (GetId, GetOpenIdToken,
      // sts:AssumeRoleWithWebIdentity on the viewer role). The viewer role's own
      // policy is then the only limit, which is why it holds four actions on the prefix.
      allowClassicFlow: true,
      authenticationProviders: {
        userPools: [new UserPoolAuthenticationProvider({ userPool: props.speakerAuth.userPool, userPoolClient: props.speakerAuth.client })],
      },
    });
    this.viewerRole = this.identityPool.unauthenticatedRole;
    this.speakerRole = this.identityPool.authenticatedRole;

    const channels = kvsChannelArnPattern(this, props.channelPrefix);
    this.viewerRole.addToPrincipalPolicy(new PolicyStatement({ sid: "ViewSignalingChannels", actions: [...VIEWER_ACTIONS], resources: [channels] }));

    Validations.of(this.identityPool).acknowledge({
      id: "AwsSolutions-COG7",
      reason: "Listeners join without an account by design (see the fix note on $connect); guest credentials may only view signaling channels under the channel prefix.",
    });
    Validations.of(this.viewerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kinesisvideo:<AWS::Region>:<AWS::AccountId>:channel/${props.channelPrefix}*]`,
      reason: "Channels are created per session at run time (name = prefix + session id + shard); the wildcard is confined to the prefix.",
    });
  }
}
