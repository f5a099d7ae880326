import type { SpeechEngines } from "@/lib/core/speech";
import { Alert } from "@/components/ui/alert";
import { SPEECH_INSTALL_COMMAND } from "./speech-info";

const PORTS: { key: keyof SpeechEngines; label: string }[] = [
  { key: "asr", label: "speech recognition" },
  { key: "mt", label: "translation" },
  { key: "tts", label: "synthesized speech" },
];

/**
 * Says which translation engines are off on this server and how to turn them
 * on. Nothing when all three run.
 */
export function EnginesNotice({ engines, notices, browserRecognizer }: { engines: SpeechEngines; notices: readonly string[]; browserRecognizer?: boolean }) {
  const off = PORTS.filter((p) => engines[p.key] === "off");
  if (off.length === 0) return null;
  const all = off.length === PORTS.length;
  return (
    <Alert tone="notice" data-testid="engines-off-notice" data-off={off.map((p) => p.key).join(" ")}>
      <p className="font-medium">
        {all ? "Live translation is off on this server" : `Off on this server: ${off.map((p) => p.label).join(", ")}`}
        {all ? ": listeners hear your voice only, without captions or translations." : "."}
      </p>
      {engines.asr === "off" && engines.mt !== "off" && browserRecognizer ? (
        <p className="mt-1">You can still use your browser&apos;s speech recognition for captions and translations.</p>
      ) : null}
      <p className="mt-1">
        To turn it on, install the speech engines with <code className="rounded bg-white/70 px-1 font-mono">{SPEECH_INSTALL_COMMAND}</code>, then
        restart Earshot (set <code className="font-mono">EARSHOT_ASR</code>, <code className="font-mono">EARSHOT_MT</code> and{" "}
        <code className="font-mono">EARSHOT_TTS</code> if you turned them off).
      </p>
      {notices.length ? (
        <ul className="mt-2 list-disc pl-5" data-testid="engine-notices">
          {notices.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      ) : null}
    </Alert>
  );
}
