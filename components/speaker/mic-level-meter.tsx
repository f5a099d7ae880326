import { meterFraction } from "@/lib/client/media/level";
import { cn } from "@/components/ui/cn";

/** The microphone's level (RMS from an AnalyserNode, see useAudioLevel), as a bar. */
export function MicLevelMeter({ level, silent }: { level: number; silent: boolean }) {
  const fraction = meterFraction(level);
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
      <div
        className="h-3 overflow-hidden rounded-full bg-slate-200"
        role="meter"
        aria-labelledby="mic-level-label"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(fraction * 100)}
        data-testid="mic-level"
        data-level={level.toFixed(3)}
      >
        <div
          className={cn("h-full w-full origin-left rounded-full", silent ? "bg-slate-400" : "bg-emerald-600")}
          style={{ transform: `scaleX(${fraction})` }}
        />
      </div>
    </div>
  );
}
