import { ArnFormat, Duration, Stack, Validations } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { AccountRootPrincipal, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { MASTER_ACTIONS } from "../../lib/server/cloud/kvs-actions";
import { kvsChannelArnPattern } from "./kvs-arn";

/**
 * What the Next app's server code may do in AWS: read and write the session
 * tables (session lookup, rate limits), and assume the KVS master role to
 * hand a speaker credentials for the channels of one session of theirs (an
 * STS session policy names them; the role's own policy, the prefix, is only
 * the ceiling). It never creates or deletes channels (the control Lambda
 * does) and holds the token private key itself.
 *
 * Amplify Hosting runs SSR with the compute role made here; on Vercel, attach
 * the managed policy to the role its OIDC federation assumes (docs/DEPLOY.md).
 */

export const WEB_APP_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:Query",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:ConditionCheckItem",
  "dynamodb:DescribeTable",
] as const;

export interface WebAppAccessProps {
  readonly tables: readonly ITable[];
  /** KVS_CHANNEL_PREFIX: the master role's ceiling. */
  readonly channelPrefix: string;
}

export class WebAppAccess extends Construct {
  readonly policy: ManagedPolicy;
  /** Amplify Hosting SSR compute role. */
  readonly amplifyComputeRole: Role;
  /** KVS_MASTER_ROLE_ARN: assumed by the Next app only, always with a session policy naming one session's channels. */
  readonly kvsMasterRole: Role;

  constructor(scope: Construct, id: string, props: WebAppAccessProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // Trusts this account's principals that are granted sts:AssumeRole on it: the policy below, i.e. the Next app.
    this.kvsMasterRole = new Role(this, "KvsMaster", {
      assumedBy: new AccountRootPrincipal(),
      description: "Earshot speaker MASTER credentials (the Next app scopes each use to one session's channels)",
      maxSessionDuration: Duration.hours(1),
    });
    this.kvsMasterRole.addToPolicy(
      new PolicyStatement({ sid: "MasterSignalingChannels", actions: [...MASTER_ACTIONS], resources: [kvsChannelArnPattern(this, props.channelPrefix)] }),
    );
    this.policy = new ManagedPolicy(this, "Policy", {
      description: "Earshot Next app: read/write the session tables, issue session-scoped KVS master credentials",
      statements: [
        new PolicyStatement({
          sid: "SessionTables",
          actions: [...WEB_APP_TABLE_ACTIONS],
          resources: props.tables.flatMap((t) => [t.tableArn, `${t.tableArn}/index/*`]),
        }),
        new PolicyStatement({ sid: "SessionScopedMasterCredentials", actions: ["sts:AssumeRole"], resources: [this.kvsMasterRole.roleArn] }),
      ],
    });
    // Amplify may assume the compute role only for apps of this account (confused deputy).
    this.amplifyComputeRole = new Role(this, "AmplifyCompute", {
      assumedBy: new ServicePrincipal("amplify.amazonaws.com", {
        conditions: {
          StringEquals: { "aws:SourceAccount": stack.account },
          ArnLike: { "aws:SourceArn": stack.formatArn({ service: "amplify", resource: "apps", resourceName: "*", arnFormat: ArnFormat.SLASH_RESOURCE_NAME }) },
        },
      }),
      description: "Earshot Next app on Amplify Hosting (SSR compute role)",
      managedPolicies: [this.policy],
    });
    Validations.of(this.kvsMasterRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kinesisvideo:<AWS::Region>:<AWS::AccountId>:channel/${props.channelPrefix}*]`,
      reason: "The ceiling only: every use carries an STS session policy naming one session's channel ARNs (lib/server/cloud/speaker-credentials.ts).",
    });
    for (const t of props.tables) {
      Validations.of(this.policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(t).getLogicalId(t.node.defaultChild as never)}.Arn>/index/*]`,
        reason: "Index ARNs of this deployment's own tables; the app queries the bySession GSI.",
      });
    }
  }
}
