import { dirname, join, resolve } from "node:path";
import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import type { WebSocketStage } from "aws-cdk-lib/aws-apigatewayv2";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, LoggingFormat, Runtime } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat, SourceMapMode } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";

/** The repository root: handlers are bundled from the app's own modules (lib/server/...). */
const INFRA_DIR = resolve(__dirname, "..");
export const REPO_ROOT = dirname(INFRA_DIR);
export const lambdaEntry = (file: string) => join(INFRA_DIR, "lambda", file);

export interface EarshotFunctionProps {
  /** File under infra/lambda/. */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly logRetention: RetentionDays;
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * A Node.js Lambda as every Earshot function is made: arm64, current Node
 * runtime, bundled with the locally installed esbuild (never Docker), the
 * pinned AWS SDK inside the bundle, its own log group with a retention, and
 * a role that may write only to that log group (more grants are added by callers).
 */
export function earshotFunction(scope: Construct, id: string, props: EarshotFunctionProps): NodejsFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
  const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal("lambda.amazonaws.com"), description: props.description });
  role.addToPolicy(new PolicyStatement({ sid: "WriteOwnLogs", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [logGroup.logGroupArn] }));
  return new NodejsFunction(scope, id, {
    entry: props.entry,
    handler: "handler",
    projectRoot: REPO_ROOT,
    depsLockFilePath: join(REPO_ROOT, "package-lock.json"),
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    memorySize: 512,
    timeout: props.timeout,
    role,
    logGroup,
    loggingFormat: LoggingFormat.TEXT,
    description: props.description,
    environment: { ...props.environment, NODE_OPTIONS: "--enable-source-maps" },
    bundling: {
      forceDockerBundling: false,
      format: OutputFormat.CJS,
      target: "node24",
      minify: true,
      sourceMap: true,
      sourceMapMode: SourceMapMode.DEFAULT,
      sourcesContent: false,
      // Ship the SDK versions the repository pins (and tests against), not the runtime's.
      bundleAwsSDK: true,
      tsconfig: join(REPO_ROOT, "tsconfig.json"),
    },
  });
}

/** The role's inline policy, where grants land (cdk-nag findings are acknowledged on it). */
export function defaultPolicyOf(fn: NodejsFunction): Construct {
  const role = fn.role!;
  return (role.node.tryFindChild("DefaultPolicy") as Construct | undefined) ?? (role as unknown as Construct);
}

/** cdk-nag IAM5 acknowledgements for grantReadWriteData (it covers `<table>/index/*`). */
export function acknowledgeTableIndexes(fn: NodejsFunction, tables: readonly ITable[]): void {
  const policy = defaultPolicyOf(fn);
  for (const table of tables) {
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(table).getLogicalId(table.node.defaultChild as never)}.Arn>/index/*]`,
      reason: "grantReadWriteData covers the table's indexes (the bySession GSI is queried on fan-out).",
    });
  }
}

/** cdk-nag IAM5 acknowledgement for stage.grantManagementApiAccess (`<api>/<stage>/*​/@connections/*`). */
export function acknowledgeManageConnections(fn: NodejsFunction, stage: WebSocketStage): void {
  const api = stage.api.node.defaultChild as never;
  Validations.of(defaultPolicyOf(fn)).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${Stack.of(stage).getLogicalId(api)}>/${stage.stageName}/*/@connections/*]`,
    reason: "Post to, get and delete any connection of this one stage: connection ids are only known at run time.",
  });
}
