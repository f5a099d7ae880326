import { cn } from "@/components/ui/cn";
import { LevelMeter } from "@/components/ui/level-meter";

/** The microphone's level (RMS from an AnalyserNode, see useAudioLevel), as a bar. */
export function MicLevelMeter({ level, silent }: { level: number; silent: boolean }) {
  return (
    <div className="flex flex-col gap-1.5">
      <div className="flex items-center justify-between text-sm">
        <span id="mic-level-label" className="font-medium text-slate-800">
          Microphone
        </span>
        <span className={cn("font-medium", silent ? "text-amber-800" : "text-emerald-700")} data-testid="mic-state">
          {silent ? "Listeners hear nothing" : "Listeners hear you"}
        </span>
      </div>
      <LevelMeter level={level} muted={silent} className="h-3" testId="mic-level" aria-labelledby="mic-level-label" />
    </div>
  );
}
