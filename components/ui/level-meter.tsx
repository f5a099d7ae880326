import { meterFraction } from "@/lib/client/media/level";
import { cn } from "./cn";

/**
 * An audio level (RMS, see useAudioLevel) as an accessible bar. `data-level`
 * carries the raw value for tests and benchmarks.
 */
export function LevelMeter({
  level,
  muted = false,
  className,
  testId,
  ...label
}: { level: number; muted?: boolean; className?: string; testId: string } & ({ "aria-label": string } | { "aria-labelledby": string })) {
  const fraction = meterFraction(level);
  return (
    <div
      className={cn("overflow-hidden rounded-full bg-slate-200", className)}
      role="meter"
      {...label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(fraction * 100)}
      data-testid={testId}
      data-level={level.toFixed(3)}
    >
      <div
        className={cn("h-full w-full origin-left rounded-full", muted ? "bg-slate-400" : "bg-emerald-600")}
        style={{ transform: `scaleX(${fraction})` }}
      />
    </div>
  );
}
