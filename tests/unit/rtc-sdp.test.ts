import { describe, expect, it } from "vitest";
import { SPEECH_OPUS, opusPayloadTypes, parseFmtp, tuneOpus } from "@/lib/client/rtc/sdp";
import { CHROME_OFFER } from "./rtc-fakes";

describe("SDP: Opus for speech", () => {
  it("finds the Opus payload types", () => {
    expect(opusPayloadTypes(CHROME_OFFER)).toEqual(["111"]);
    expect(opusPayloadTypes("v=0\r\na=rtpmap:0 PCMU/8000\r\n")).toEqual([]);
  });

  it("parses fmtp lines", () => {
    expect(parseFmtp("a=fmtp:111 minptime=10;useinbandfec=1")).toEqual({ pt: "111", params: { minptime: "10", useinbandfec: "1" } });
    expect(parseFmtp("a=rtpmap:111 opus/48000/2")).toBeUndefined();
  });

  it("merges the speech parameters into Opus's fmtp, keeping the others and CRLF", () => {
    const tuned = tuneOpus(CHROME_OFFER);
    const line = tuned.split("\r\n").find((l) => l.startsWith("a=fmtp:111 "))!;
    expect(parseFmtp(line)!.params).toEqual({
      minptime: "10",
      useinbandfec: "1",
      usedtx: "1",
      maxaveragebitrate: "32000",
      stereo: "0",
      "sprop-stereo": "0",
    });
    // Nothing else changes: the RED fmtp, the other codecs, line endings, the trailing CRLF.
    expect(tuned.split("\r\n").filter((l) => !l.startsWith("a=fmtp:111 "))).toEqual(CHROME_OFFER.split("\r\n").filter((l) => !l.startsWith("a=fmtp:111 ")));
    expect(tuned.endsWith("\r\n")).toBe(true);
    expect(tuned).not.toMatch(/[^\r]\n/);
  });

  it("adds an fmtp line right after the rtpmap when Opus has none", () => {
    const sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 109\r\na=rtpmap:109 opus/48000/2\r\na=rtcp-fb:109 nack\r\n";
    const lines = tuneOpus(sdp).split("\r\n");
    const at = lines.indexOf("a=rtpmap:109 opus/48000/2");
    expect(lines[at + 1]).toBe("a=fmtp:109 useinbandfec=1;usedtx=1;maxaveragebitrate=32000;stereo=0;sprop-stereo=0");
  });

  it("overrides existing values, is idempotent, and leaves SDP without Opus alone", () => {
    const stereo = CHROME_OFFER.replace("a=fmtp:111 minptime=10;useinbandfec=1", "a=fmtp:111 stereo=1;maxaveragebitrate=510000");
    const tuned = tuneOpus(stereo);
    expect(tuned).toContain("a=fmtp:111 stereo=0;maxaveragebitrate=32000;useinbandfec=1;usedtx=1;sprop-stereo=0");
    expect(tuneOpus(tuned)).toBe(tuned);
    const g711 = "v=0\r\na=rtpmap:0 PCMU/8000\r\n";
    expect(tuneOpus(g711)).toBe(g711);
    expect(SPEECH_OPUS.maxaveragebitrate).toBe(32000);
  });
});
