import { Duration, Validations } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { FilterCriteria, FilterRule, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { defaultPolicyOf, earshotFunction, lambdaEntry } from "./functions";
import { kvsChannelArnPattern } from "./kvs-arn";

/**
 * Deletes the signaling channels of sessions DynamoDB's TTL removed (sessions
 * never ended by their speaker), so channels do not pile up against the
 * account's quota. Fed by the sessions table's stream, filtered to TTL deletions.
 */

export interface SessionSweeperProps {
  /** The sessions table, with a stream that carries old images. */
  readonly sessions: ITable;
  readonly channelPrefix: string;
  readonly logRetention: RetentionDays;
}

export class SessionSweeper extends Construct {
  readonly handler: NodejsFunction;

  constructor(scope: Construct, id: string, props: SessionSweeperProps) {
    super(scope, id);
    if (!props.sessions.tableStreamArn) throw new Error("SessionSweeper needs the sessions table's stream.");
    this.handler = earshotFunction(this, "Handler", {
      entry: lambdaEntry("session-expired.ts"),
      description: "Earshot: delete the KVS signaling channels of expired sessions",
      timeout: Duration.seconds(60),
      logRetention: props.logRetention,
      environment: { KVS_CHANNEL_PREFIX: props.channelPrefix },
    });
    this.handler.addToRolePolicy(
      new PolicyStatement({
        sid: "DeleteSignalingChannels",
        actions: ["kinesisvideo:DescribeSignalingChannel", "kinesisvideo:DeleteSignalingChannel"],
        resources: [kvsChannelArnPattern(this, props.channelPrefix)],
      }),
    );
    this.handler.addEventSource(
      new DynamoEventSource(props.sessions, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 25,
        maxBatchingWindow: Duration.seconds(30),
        retryAttempts: 5,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        // Only what TTL deleted; the app's own writes never wake the function.
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.isEqual("REMOVE"),
            userIdentity: { type: FilterRule.isEqual("Service"), principalId: FilterRule.isEqual("dynamodb.amazonaws.com") },
          }),
        ],
      }),
    );
    Validations.of(defaultPolicyOf(this.handler)).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason: "dynamodb:ListStreams, added by the DynamoDB event source, has no resource-level permissions; reading records is scoped to the sessions stream.",
    });
    Validations.of(defaultPolicyOf(this.handler)).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kinesisvideo:<AWS::Region>:<AWS::AccountId>:channel/${props.channelPrefix}*]`,
      reason: "Expired sessions' channels are only known by name at run time; the wildcard is confined to this deployment's channel prefix.",
    });
  }
}
