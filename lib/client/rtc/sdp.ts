/**
 * SDP helpers (pure string functions, unit-tested in tests/unit/rtc-sdp.test.ts).
 *
 * Opus for one voice: mono, in-band FEC (a lost packet is concealed from the
 * next one), DTX (next to nothing is sent during silence), at most 32 kbps.
 * The fmtp parameters a description carries say what its author wants to
 * receive, and an encoder follows the ones of the *remote* description; so
 * the speaker applies them to each viewer's offer before setRemoteDescription
 * (its encoder then sends that), and to its answer (for what it tells the
 * viewer). The sender's maxBitrate is capped as well (see master.ts).
 */

export type FmtpValue = string | number;
export type FmtpParams = Record<string, FmtpValue>;

export const SPEECH_OPUS: Readonly<FmtpParams> = Object.freeze({
  useinbandfec: 1,
  usedtx: 1,
  maxaveragebitrate: 32000,
  stereo: 0,
  "sprop-stereo": 0,
});

/** Audio bitrate cap for the sender (bits per second). */
export const SPEECH_MAX_BITRATE = 32_000;

/** The payload types the SDP maps to Opus (`a=rtpmap:<pt> opus/48000/2`). */
export function opusPayloadTypes(sdp: string): string[] {
  const types: string[] = [];
  for (const line of splitLines(sdp)) {
    const m = /^a=rtpmap:(\d+) opus\/48000(?:\/\d+)?$/i.exec(line.trim());
    if (m) types.push(m[1]!);
  }
  return types;
}

/** Parses `a=fmtp:<pt> k=v;k2=v2` into its payload type and parameters. */
export function parseFmtp(line: string): { pt: string; params: FmtpParams } | undefined {
  const m = /^a=fmtp:(\d+) (.*)$/.exec(line.trim());
  if (!m) return undefined;
  const params: FmtpParams = {};
  for (const part of m[2]!.split(";")) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf("=");
    if (eq < 0) params[item] = "";
    else params[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return { pt: m[1]!, params };
}

function formatFmtp(pt: string, params: FmtpParams): string {
  const body = Object.entries(params)
    .map(([k, v]) => (v === "" ? k : `${k}=${v}`))
    .join(";");
  return `a=fmtp:${pt} ${body}`;
}

/**
 * Sets the given fmtp parameters on every Opus payload type of the SDP,
 * keeping the other parameters; adds the fmtp line when there is none. SDP
 * without Opus is returned unchanged. Line endings are kept (CRLF in SDP).
 */
export function tuneOpus(sdp: string, params: Readonly<FmtpParams> = SPEECH_OPUS): string {
  const opus = new Set(opusPayloadTypes(sdp));
  if (opus.size === 0) return sdp;
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const lines = splitLines(sdp);
  const trailing = lines.length > 0 && lines[lines.length - 1] === "" ? lines.pop() : undefined;
  const withFmtp = new Set<string>();
  const out: string[] = [];
  for (const line of lines) {
    const fmtp = parseFmtp(line);
    if (fmtp && opus.has(fmtp.pt)) {
      withFmtp.add(fmtp.pt);
      out.push(formatFmtp(fmtp.pt, { ...fmtp.params, ...params }));
      continue;
    }
    out.push(line);
  }
  // Opus payload types without an fmtp line get one right after their rtpmap.
  for (const pt of opus) {
    if (withFmtp.has(pt)) continue;
    const at = out.findIndex((l) => l.trim().toLowerCase().startsWith(`a=rtpmap:${pt} opus/`));
    out.splice(at + 1, 0, formatFmtp(pt, { ...params }));
  }
  if (trailing !== undefined) out.push(trailing);
  return out.join(eol);
}

function splitLines(sdp: string): string[] {
  return sdp.split(/\r?\n/);
}
