import { EarshotError } from "../../core/errors";
import type { LanguageCode } from "../../core/languages";
import type { ConnectionItem, SessionItem } from "../../core/schema";
import { TRANSCRIBE_LANGUAGE_CODES, TRANSCRIBE_SAMPLE_RATE } from "../../core/transcribe-protocol";
import { channelName } from "../../core/signaling";
import { TRANSCRIPT_LIMITS, canRecognize, type Segment } from "../../core/speech";
import { liveSession, speakerOf, type ActionHandler, type ActionTable, type ControlContext } from "./context";

/**
 * The speaker's live-translation actions: where to stream the microphone
 * (getRecognizer), and the recognised speech itself (submitTranscript), which
 * goes through the speech pipeline.
 */

/** Sample rate of the PCM the speaker's browser streams to the recogniser. */
export const RECOGNIZER_SAMPLE_RATE = TRANSCRIBE_SAMPLE_RATE;

export function transcribeLanguageCode(language: LanguageCode): string {
  return TRANSCRIBE_LANGUAGE_CODES[language] ?? language;
}

async function ownSession(ctx: ControlContext, conn: ConnectionItem): Promise<SessionItem> {
  const { sessionId, speakerId } = speakerOf(conn);
  const session = await liveSession(ctx, sessionId);
  if (session.speakerId !== speakerId) throw new EarshotError("UNAUTHORIZED_ACTION", "Only the session's speaker may do that.");
  return session;
}

/** Where the speaker's browser streams microphone audio for this session. */
export const getRecognizer: ActionHandler<"getRecognizer"> = async (ctx, msg, conn, reply) => {
  const session = await ownSession(ctx, conn);
  const engines = ctx.engines();
  const languageCode = transcribeLanguageCode(session.sourceLanguage);
  const base = {
    type: "recognizer",
    requestId: msg.requestId,
    sessionId: session.sessionId,
    languageCode,
    sampleRate: RECOGNIZER_SAMPLE_RATE,
    nextSeq: session.nextSeq ?? 0,
  } as const;
  const serverAsr = session.recognizer === "server" && canRecognize(engines.asr, session.sourceLanguage);
  if (!serverAsr || engines.asr === "off") {
    await reply({ ...base, engine: "off" });
    return;
  }
  if (engines.asr === "aws") {
    const { identityPoolId } = ctx.config.cognito;
    await reply({
      ...base,
      engine: "aws",
      region: ctx.config.aws.region,
      ...(identityPoolId ? { identityPoolId } : {}),
      // The app scopes the speaker's credentials to the session a channel of it names.
      channelName: channelName(ctx.config.kvs.channelPrefix, session.sessionId, 0),
    });
    return;
  }
  const url = await ctx.speech?.recognizerUrl?.(session.sessionId, session.speakerId);
  if (!url) throw new EarshotError("ENGINE_UNAVAILABLE", "The local recogniser is not running on this server.");
  await reply({ ...base, engine: "local", url });
};

/**
 * The speaker's recognised speech, partial or final: checked (speaker of a
 * live session, rate, times, seq order), acknowledged when a requestId was
 * sent, then run through the pipeline (awaited: in the Lambda nothing runs
 * after the handler returns).
 */
export const submitTranscript: ActionHandler<"submitTranscript"> = async (ctx, msg, conn, reply, event) => {
  const session = await ownSession(ctx, conn);
  await ctx.store.enforce(`transcript:${event.connectionId}`, TRANSCRIPT_LIMITS.messagesPer10s, 10, "transcript messages");
  const text = msg.text.replace(/\s+/g, " ").trim();
  if (!text) throw new EarshotError("INVALID_PARAMETER", "Invalid text: the segment is empty.");
  if (msg.endMs < msg.startMs) throw new EarshotError("INVALID_PARAMETER", "Invalid endMs: it is before startMs.");
  const expected = session.nextSeq ?? 0;
  if (msg.seq < expected) {
    throw new EarshotError("INVALID_PARAMETER", `Invalid seq: ${msg.seq} is already final; the next segment's seq is at least ${expected}.`);
  }
  if (msg.final && !(await ctx.store.claimSeq(session.sessionId, msg.seq))) {
    throw new EarshotError("INVALID_PARAMETER", `Invalid seq: ${msg.seq} is already final.`);
  }
  if (msg.requestId !== undefined) await reply({ type: "transcriptAccepted", requestId: msg.requestId, sessionId: session.sessionId, seq: msg.seq });
  const segment: Segment = {
    seq: msg.seq,
    text,
    startMs: msg.startMs,
    endMs: msg.endMs,
    final: msg.final,
    ...(msg.spokenAt !== undefined ? { spokenAt: msg.spokenAt } : {}),
  };
  await ctx.pipeline.submit(session, segment, event.connectionId);
};

export const speechActions = { getRecognizer, submitTranscript } satisfies Partial<ActionTable>;
