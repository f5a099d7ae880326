import { Stack, Validations } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

/**
 * What the Next app's server code may do in AWS: read and write the session
 * tables (session lookup, rate limits). It never touches signaling channels
 * (the control Lambda does) and holds the token private key itself.
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
}

export class WebAppAccess extends Construct {
  readonly policy: ManagedPolicy;
  /** Amplify Hosting SSR compute role. */
  readonly amplifyComputeRole: Role;

  constructor(scope: Construct, id: string, props: WebAppAccessProps) {
    super(scope, id);
    this.policy = new ManagedPolicy(this, "Policy", {
      description: "Earshot Next app: read/write the session tables",
      statements: [
        new PolicyStatement({
          sid: "SessionTables",
          actions: [...WEB_APP_TABLE_ACTIONS],
          resources: props.tables.flatMap((t) => [t.tableArn, `${t.tableArn}/index/*`]),
        }),
      ],
    });
    this.amplifyComputeRole = new Role(this, "AmplifyCompute", {
      assumedBy: new ServicePrincipal("amplify.amazonaws.com"),
      description: "Earshot Next app on Amplify Hosting (SSR compute role)",
      managedPolicies: [this.policy],
    });
    for (const t of props.tables) {
      Validations.of(this.policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(t).getLogicalId(t.node.defaultChild as never)}.Arn>/index/*]`,
        reason: "Index ARNs of this deployment's own tables; the app queries the bySession GSI.",
      });
    }
  }
}
