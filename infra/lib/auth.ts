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
import type { IRole } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

/**
 * Who may do what:
 * - Speakers sign in to the Next app with next-auth's Cognito provider
 *   (authorization-code flow, confidential client) against this user pool.
 *   Accounts are created by the operator; there is no self sign-up.
 * - Listeners have no account and get no identity-pool credentials: the
 *   control Lambda hands each one credentials for its one channel
 *   (viewer-access.ts, lib/server/cloud/viewer-credentials.ts). The pool
 *   allows no guests; its roles have no permissions.
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
}

export class ListenerIdentity extends Construct {
  readonly identityPool: IdentityPool;
  /** Guests: none are allowed, and the role has no permissions (listeners' credentials: viewer-access.ts). */
  readonly guestRole: IRole;
  /** Signed-in speakers: no KVS access (their MASTER credentials come from the Next app, per session). */
  readonly speakerRole: IRole;

  constructor(scope: Construct, id: string, props: ListenerIdentityProps) {
    super(scope, id);
    this.identityPool = new IdentityPool(this, "Pool", {
      // Listeners get channel-scoped credentials from the control plane, not from here.
      allowUnauthenticatedIdentities: false,
      authenticationProviders: {
        userPools: [new UserPoolAuthenticationProvider({ userPool: props.speakerAuth.userPool, userPoolClient: props.speakerAuth.client })],
      },
    });
    this.guestRole = this.identityPool.unauthenticatedRole;
    this.speakerRole = this.identityPool.authenticatedRole;
  }
}
