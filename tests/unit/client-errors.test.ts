import { describe, expect, it } from "vitest";
import { describeError } from "@/lib/client/describe-error";
import { ClientError, ControlChannelError, isClientError, isSessionGone } from "@/lib/client/errors";
import { PcmCaptureError } from "@/lib/client/media/pcm-capture";
import { RtcError } from "@/lib/client/rtc/errors";
import { TranscribeStreamError } from "@/lib/client/speech/transcribe-client";

describe("client errors", () => {
  it("are one base class, told apart by kind and code", () => {
    const errors = [
      ControlChannelError.timeout("createSession", 10_000),
      new RtcError("MIC_NOT_FOUND"),
      new PcmCaptureError("no Web Audio"),
      new TranscribeStreamError("refused", "BadRequestException"),
    ];
    expect(errors.every((e) => e instanceof ClientError && isClientError(e))).toBe(true);
    expect(errors.map((e) => [e.kind, e.code])).toEqual([
      ["control", "TIMEOUT"],
      ["media", "MIC_NOT_FOUND"],
      ["capture", "CAPTURE_FAILED"],
      ["recognizer", "BadRequestException"],
    ]);
    expect(isClientError(new Error("plain"))).toBe(false);
    expect(isClientError({ kind: "control", code: "TIMEOUT" })).toBe(false);
  });

  it("says the session is gone for the server's two codes only, whatever carries them", () => {
    expect(isSessionGone(ControlChannelError.fromServer({ type: "error", code: "SESSION_INACTIVE", message: "ended" }))).toBe(true);
    expect(isSessionGone(new ControlChannelError("SESSION_NOT_FOUND", "gone"))).toBe(true);
    expect(isSessionGone(Object.assign(new Error("x"), { code: "SESSION_INACTIVE" }))).toBe(true);
    expect(isSessionGone(ControlChannelError.closed("pauseBroadcast"))).toBe(false);
    expect(isSessionGone(new RtcError("GAVE_UP"))).toBe(false);
    expect(isSessionGone(undefined)).toBe(false);
  });

  it("describes the control channel's own failures with what to do, and every other error by its message", () => {
    expect(describeError(ControlChannelError.connectFailed())).toMatch(/Could not connect to Earshot/);
    expect(describeError(ControlChannelError.notConnected())).toMatch(/connection dropped/);
    expect(describeError(ControlChannelError.timeout("x", 1000))).toMatch(/too long/);
    expect(describeError(new ControlChannelError("RATE_LIMIT_EXCEEDED", "Slow down."))).toBe("Slow down.");
    expect(describeError(new RtcError("MIC_PERMISSION_DENIED"))).toMatch(/Allow the microphone/);
    expect(describeError("weird")).toBe("Something went wrong.");
    expect(describeError("weird", "Something went wrong with the audio.")).toBe("Something went wrong with the audio.");
  });
});
