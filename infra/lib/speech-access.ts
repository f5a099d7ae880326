import { Stack, Validations } from "aws-cdk-lib";
import { PolicyStatement, type IRole } from "aws-cdk-lib/aws-iam";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import type { Construct } from "constructs";
import { defaultPolicyOf } from "./functions";
import { SPEAKER_TRANSCRIBE_ACTIONS } from "../../lib/server/cloud/kvs-actions";

/**
 * Live translation's AWS permissions, each where it is used:
 * - the control Lambda translates each final segment (Amazon Translate) and
 *   synthesizes it (Amazon Polly);
 * - the speaker's browser streams its microphone to Amazon Transcribe with a
 *   URL it presigns with the session-scoped credentials the Next app hands it
 *   (the KVS master role's, lib/server/cloud/speaker-credentials.ts, whose
 *   session policy repeats this grant).
 * None of the three actions has a resource to scope to (Translate's and
 * Polly's optional resources are terminologies and lexicons, which Earshot
 * does not use), so each statement is on "*" and held to this stack's region.
 */

export const SPEECH_LAMBDA_ACTIONS = ["translate:TranslateText", "polly:SynthesizeSpeech"] as const;
export { SPEAKER_TRANSCRIBE_ACTIONS } from "../../lib/server/cloud/kvs-actions";

function inThisRegion(scope: Construct) {
  return { StringEquals: { "aws:RequestedRegion": Stack.of(scope).region } };
}

/** The control Lambda may translate and synthesize (nothing else of Translate or Polly). */
export function grantTranslationEngines(fn: NodejsFunction): void {
  fn.addToRolePolicy(
    new PolicyStatement({ sid: "TranslateAndSynthesize", actions: [...SPEECH_LAMBDA_ACTIONS], resources: ["*"], conditions: inThisRegion(fn) }),
  );
  Validations.of(defaultPolicyOf(fn)).acknowledge({
    id: "AwsSolutions-IAM5[Resource::*]",
    reason: "translate:TranslateText and polly:SynthesizeSpeech have no resource to scope to without terminologies or lexicons (unused); held to this region.",
  });
}

/** The speaker's role (the KVS master role the Next app assumes per session) may open a Transcribe streaming WebSocket; listeners may not. */
export function grantSpeakerTranscription(speakerRole: IRole, scope: Construct): void {
  speakerRole.addToPrincipalPolicy(
    new PolicyStatement({ sid: "StreamTranscription", actions: [...SPEAKER_TRANSCRIBE_ACTIONS], resources: ["*"], conditions: inThisRegion(scope) }),
  );
  Validations.of(speakerRole).acknowledge({
    id: "AwsSolutions-IAM5[Resource::*]",
    reason: "transcribe:StartStreamTranscriptionWebSocket has no resource type; only the speaker's master role gets it, held to this region.",
  });
}
