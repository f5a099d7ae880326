import { Duration, Validations } from "aws-cdk-lib";
import { ArnPrincipal, PolicyStatement, Role, type IRole } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { VIEWER_ACTIONS } from "../../lib/server/cloud/kvs-actions";
import { kvsChannelArnPattern } from "./kvs-arn";

/**
 * Listeners' KVS credentials (security review, finding 8, listener side):
 * the control Lambda assumes this role when it hands a listener its channel,
 * always with an STS session policy naming that one channel's ARN
 * (lib/server/cloud/viewer-credentials.ts). The role's own policy, the four
 * viewer actions on the channel prefix, is only the ceiling; only the
 * control Lambda's role is trusted, and only it is granted sts:AssumeRole on
 * it. The identity pool's guest role has no KVS access any more.
 */

export interface ViewerAccessProps {
  /** KVS_CHANNEL_PREFIX: the ceiling. */
  readonly channelPrefix: string;
  /** The control Lambda's execution role: the only principal that may assume the viewer role. */
  readonly assumer: IRole;
}

export class ViewerAccess extends Construct {
  /** KVS_VIEWER_ROLE_ARN. */
  readonly role: Role;

  constructor(scope: Construct, id: string, props: ViewerAccessProps) {
    super(scope, id);
    this.role = new Role(this, "KvsViewer", {
      assumedBy: new ArnPrincipal(props.assumer.roleArn),
      description: "Earshot listener VIEWER credentials (the control Lambda scopes each use to one channel)",
      maxSessionDuration: Duration.hours(1),
    });
    this.role.addToPolicy(
      new PolicyStatement({ sid: "ViewSignalingChannels", actions: [...VIEWER_ACTIONS], resources: [kvsChannelArnPattern(this, props.channelPrefix)] }),
    );
    props.assumer.addToPrincipalPolicy(new PolicyStatement({ sid: "ChannelScopedViewerCredentials", actions: ["sts:AssumeRole"], resources: [this.role.roleArn] }));
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kinesisvideo:<AWS::Region>:<AWS::AccountId>:channel/${props.channelPrefix}*]`,
      reason: "The ceiling only: every use carries an STS session policy naming one channel's ARN (lib/server/cloud/viewer-credentials.ts).",
    });
  }
}
