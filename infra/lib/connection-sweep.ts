import { Duration } from "aws-cdk-lib";
import type { WebSocketStage } from "aws-cdk-lib/aws-apigatewayv2";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { acknowledgeManageConnections, acknowledgeTableIndexes, earshotFunction, lambdaEntry } from "./functions";

/**
 * The control plane's scheduled sweep. API Gateway delivers `$disconnect` on a
 * best-effort basis; every few minutes this asks the management API which
 * connections still exist, removes the rest through the shared handlers (so
 * counts follow), closes listeners of expired sessions and reconciles counts.
 */

export interface ConnectionSweepProps {
  readonly tables: readonly ITable[];
  readonly stage: WebSocketStage;
  /** The control Lambda's environment (the sweep reads the same config). */
  readonly environment: Readonly<Record<string, string>>;
  readonly every: Duration;
  readonly logRetention: RetentionDays;
}

export class ConnectionSweep extends Construct {
  readonly handler: NodejsFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: ConnectionSweepProps) {
    super(scope, id);
    this.handler = earshotFunction(this, "Handler", {
      entry: lambdaEntry("sweep.ts"),
      description: "Earshot: sweep vanished WebSocket connections and reconcile listener counts",
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
      environment: props.environment,
    });
    for (const table of props.tables) table.grantReadWriteData(this.handler);
    props.stage.grantManagementApiAccess(this.handler);
    acknowledgeManageConnections(this.handler, props.stage);
    acknowledgeTableIndexes(this.handler, props.tables);
    this.rule = new Rule(this, "Schedule", {
      description: "Earshot connection sweep",
      schedule: Schedule.rate(props.every),
      targets: [new LambdaFunction(this.handler, { retryAttempts: 0 })],
    });
  }
}
