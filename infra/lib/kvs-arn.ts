import { ArnFormat, Stack } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * `arn:<partition>:kinesisvideo:<region>:<account>:channel/<prefix>*`: every
 * signaling channel of this deployment (a channel ARN is `channel/<name>/<creation time>`).
 */
export function kvsChannelArnPattern(scope: IConstruct, channelPrefix: string): string {
  return Stack.of(scope).formatArn({
    service: "kinesisvideo",
    resource: "channel",
    resourceName: `${channelPrefix}*`,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}
