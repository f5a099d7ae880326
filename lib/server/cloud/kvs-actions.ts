/**
 * The Kinesis Video Streams actions each signaling role needs: shared by the
 * CDK roles (infra/lib/auth.ts, infra/lib/web-access.ts) and the session
 * policies the server writes (speaker-credentials.ts).
 */

/** What a listener's browser needs to join a channel as VIEWER. Nothing else. */
export const VIEWER_ACTIONS = [
  "kinesisvideo:ConnectAsViewer",
  "kinesisvideo:DescribeSignalingChannel",
  "kinesisvideo:GetSignalingChannelEndpoint",
  "kinesisvideo:GetIceServerConfig",
] as const;

/** The speaker's browser additionally connects as MASTER. */
export const MASTER_ACTIONS = [...VIEWER_ACTIONS, "kinesisvideo:ConnectAsMaster"] as const;

/**
 * The speaker's browser presigns Amazon Transcribe streaming URLs with the
 * same session-scoped credentials (live translation, `EARSHOT_ASR=aws`).
 * The action has no resource type.
 */
export const SPEAKER_TRANSCRIBE_ACTIONS = ["transcribe:StartStreamTranscriptionWebSocket"] as const;
