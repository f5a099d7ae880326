import { LANGUAGES, isLanguageCode, type LanguageCode } from "../../core/languages";
import type { SegmentItem, SessionItem } from "../../core/schema";

/**
 * A session's stored segments as a downloadable transcript: plain text or
 * WebVTT, in one language or all of them. Cue times are from the session's
 * creation: each segment ends when the speaker finished saying it (its
 * spokenAt, else when the server got it) and lasts as long as it was spoken,
 * so a recogniser restarted mid-talk (stream times from 0 again) still gives
 * times that only grow.
 */

export type TranscriptFormat = "txt" | "vtt";
/** One language, or every language the transcript has ("all"). */
export type TranscriptLanguage = LanguageCode | "all";

interface Cue {
  seq: number;
  startMs: number;
  endMs: number;
  /** Text per language, source first. */
  lines: { language: LanguageCode; text: string }[];
}

/** The languages a transcript has: the source, the session's targets, then any other language a segment was translated into. */
export function transcriptLanguages(session: SessionItem, segments: readonly SegmentItem[]): LanguageCode[] {
  const out = new Set<LanguageCode>([session.sourceLanguage, ...(session.targetLanguages ?? [])]);
  for (const s of segments) for (const l of Object.keys(s.translations)) if (isLanguageCode(l)) out.add(l);
  return [...out];
}

function cues(session: SessionItem, segments: readonly SegmentItem[], language: TranscriptLanguage): Cue[] {
  const sorted = [...segments].sort((a, b) => a.seq - b.seq);
  const out: Cue[] = [];
  let lastEnd = 0;
  for (const s of sorted) {
    const lines: Cue["lines"] = [];
    if (language === "all" || language === s.language) lines.push({ language: s.language, text: s.text });
    for (const [l, text] of Object.entries(s.translations)) {
      if (!isLanguageCode(l) || l === s.language) continue;
      if (language === "all" || language === l) lines.push({ language: l, text });
    }
    if (lines.length === 0) continue;
    const endAt = Math.max(0, (s.spokenAt ?? s.receivedAt) - session.createdAt);
    const length = Math.max(1, s.endMs - s.startMs);
    const startMs = Math.max(lastEnd, endAt - length);
    const endMs = Math.max(startMs + 1, endAt);
    lastEnd = endMs;
    out.push({ seq: s.seq, startMs, endMs, lines });
  }
  return out;
}

function clock(ms: number, separator: "." | ","): string {
  const t = Math.max(0, Math.round(ms));
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const s = Math.floor((t % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(t % 1000, 3)}`;
}

function languageName(l: LanguageCode): string {
  return LANGUAGES[l].name;
}

export function transcriptTxt(session: SessionItem, segments: readonly SegmentItem[], language: TranscriptLanguage): string {
  const list = cues(session, segments, language);
  const languages = language === "all" ? transcriptLanguages(session, segments) : [language];
  const head = [
    session.title ? `${session.title}` : `Session ${session.sessionId}`,
    `Session ${session.sessionId}, started ${new Date(session.createdAt).toISOString()}, spoken in ${languageName(session.sourceLanguage)}.`,
    `Languages: ${languages.map(languageName).join(", ")}.`,
    "",
  ];
  const body = list.map((c) => {
    const time = `[${clock(c.startMs, ".").slice(0, 8)}]`;
    if (language !== "all") return `${time} ${c.lines[0]!.text}`;
    return [`${time} ${c.lines[0]!.text}`, ...c.lines.slice(1).map((l) => `    ${l.language}: ${l.text}`)].join("\n");
  });
  return `${[...head, ...body].join("\n")}\n`;
}

/** WebVTT cue text may not contain "-->" nor blank lines. */
function vttText(text: string): string {
  return text.replace(/-->/g, "->").replace(/\r?\n\s*\r?\n/g, "\n").replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

export function transcriptVtt(session: SessionItem, segments: readonly SegmentItem[], language: TranscriptLanguage): string {
  const list = cues(session, segments, language);
  const out = ["WEBVTT", ""];
  if (session.title) out.push("NOTE", vttText(session.title).replace(/-->/g, "->"), "");
  for (const c of list) {
    out.push(String(c.seq + 1), `${clock(c.startMs, ".")} --> ${clock(c.endMs, ".")}`);
    if (language === "all") {
      out.push(...c.lines.map((l, i) => (i === 0 ? vttText(l.text) : `<lang ${l.language}>${vttText(l.text)}</lang>`)));
    } else {
      out.push(vttText(c.lines[0]!.text));
    }
    out.push("");
  }
  return out.join("\n");
}
