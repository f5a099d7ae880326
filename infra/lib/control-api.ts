import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from "aws-cdk-lib/aws-apigatewayv2";
import { WebSocketLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { CfnAccount } from "aws-cdk-lib/aws-apigateway";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { CLIENT_ACTIONS } from "../../lib/core/protocol";
import { acknowledgeManageConnections, acknowledgeTableIndexes, defaultPolicyOf, earshotFunction, lambdaEntry } from "./functions";
import { kvsChannelArnPattern } from "./kvs-arn";

/**
 * The WebSocket control channel: API Gateway's WebSocket API in front of one
 * Lambda that wraps the same control-plane handlers as the embedded gateway.
 * `$connect` has no authorizer (authorization NONE): listeners have no token,
 * and the handler itself rejects a bad speaker token or an unknown session.
 */

export const CONTROL_HANDLER_ENTRY = lambdaEntry("control.ts");

/** The Lambda answers within API Gateway's 29 s integration timeout, with room to spare. */
const HANDLER_TIMEOUT = Duration.seconds(25);

export const STAGE_NAME = "live";

export interface ControlApiProps {
  readonly tables: readonly ITable[];
  /** Environment of the handler: the config variables lib/server/config.ts reads (AWS_REGION is set by Lambda). */
  readonly environment: Readonly<Record<string, string>>;
  /** KVS_CHANNEL_PREFIX: the function may create, describe and delete only these channels. */
  readonly channelPrefix: string;
  readonly logRetention: RetentionDays;
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Sets the account-wide API Gateway CloudWatch Logs role (needed once per account and region for WebSocket logs). */
  readonly setAccountLogRole: boolean;
}

export class ControlApi extends Construct {
  readonly handler: NodejsFunction;
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  /** EARSHOT_WS_URL: `wss://<api>.execute-api.<region>.amazonaws.com/live`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ControlApiProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // --- the function

    this.handler = earshotFunction(this, "Handler", {
      entry: CONTROL_HANDLER_ENTRY,
      description: "Earshot WebSocket control plane ($connect, $disconnect, actions)",
      timeout: HANDLER_TIMEOUT,
      logRetention: props.logRetention,
      environment: props.environment,
    });

    for (const table of props.tables) table.grantReadWriteData(this.handler);
    this.handler.addToRolePolicy(
      new PolicyStatement({
        sid: "ManageSignalingChannels",
        actions: ["kinesisvideo:CreateSignalingChannel", "kinesisvideo:DescribeSignalingChannel", "kinesisvideo:DeleteSignalingChannel"],
        resources: [kvsChannelArnPattern(this, props.channelPrefix)],
      }),
    );

    // --- the API

    const integration = new WebSocketLambdaIntegration("Control", this.handler, { timeout: Duration.seconds(29) });
    this.api = new WebSocketApi(this, "Api", {
      apiName: `${stack.stackName}-control`,
      description: "Earshot control channel",
      routeSelectionExpression: "$request.body.action",
      // No authorizer: anonymous listeners must connect (the earlier system's bug). The handler decides.
      connectRouteOptions: { integration },
      disconnectRouteOptions: { integration },
      defaultRouteOptions: { integration },
    });
    for (const action of CLIENT_ACTIONS) this.api.addRoute(action, { integration });

    const accessLogs = new LogGroup(this, "AccessLogs", { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new WebSocketStage(this, "Stage", {
      webSocketApi: this.api,
      stageName: STAGE_NAME,
      autoDeploy: true,
      throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });
    this.stage.grantManagementApiAccess(this.handler);
    this.url = this.stage.url;

    if (props.setAccountLogRole) {
      // API Gateway writes WebSocket logs with an account-level role. Kept on delete: the account setting outlives the stack.
      const cwRole = new Role(this, "ApiGatewayLogsRole", {
        assumedBy: new ServicePrincipal("apigateway.amazonaws.com"),
        managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName("service-role/AmazonAPIGatewayPushToCloudWatchLogs")],
      });
      cwRole.applyRemovalPolicy(RemovalPolicy.RETAIN);
      const account = new CfnAccount(this, "ApiGatewayAccount", { cloudWatchRoleArn: cwRole.roleArn });
      this.stage.node.addDependency(account);
      Validations.of(cwRole).acknowledge({
        id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        reason: "The AWS-documented policy for API Gateway's account-level logging role; it grants log writes only.",
      });
    }

    // --- reasoned acknowledgements of cdk-nag findings

    // Covers every route of the API ($connect, $disconnect, $default and the actions).
    Validations.of(this.api).acknowledge({
      id: "AwsSolutions-APIG4",
      reason:
        "No API Gateway authorizer on purpose: listeners connect anonymously (an authorizer on $connect locked them out in the earlier system). " +
        "The handler verifies a speaker token when one is present and refuses a bad one, checks the session on $connect, and checks the role on every action.",
    });

    const policy = defaultPolicyOf(this.handler);
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kinesisvideo:<AWS::Region>:<AWS::AccountId>:channel/${props.channelPrefix}*]`,
      reason: "Signaling channels are created per session at run time; the wildcard is confined to this deployment's channel prefix.",
    });
    acknowledgeManageConnections(this.handler, this.stage);
    acknowledgeTableIndexes(this.handler, props.tables);
  }
}
