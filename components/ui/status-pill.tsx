import type { HTMLAttributes } from "react";
import { cn } from "./cn";

export type Tone = "neutral" | "info" | "success" | "warning" | "danger" | "live";

const tones: Record<Tone, { pill: string; dot: string }> = {
  neutral: { pill: "bg-slate-100 text-slate-700 ring-slate-300", dot: "bg-slate-400" },
  info: { pill: "bg-sky-50 text-sky-800 ring-sky-200", dot: "bg-sky-500" },
  success: { pill: "bg-emerald-50 text-emerald-800 ring-emerald-200", dot: "bg-emerald-500" },
  warning: { pill: "bg-amber-50 text-amber-900 ring-amber-200", dot: "bg-amber-500" },
  danger: { pill: "bg-red-50 text-red-800 ring-red-200", dot: "bg-red-500" },
  live: { pill: "bg-red-600 text-white ring-red-700", dot: "bg-white" },
};

/** A small rounded label. */
export function Badge({ tone = "neutral", className, ...rest }: HTMLAttributes<HTMLSpanElement> & { tone?: Tone }) {
  return (
    <span
      className={cn("inline-flex items-center rounded-full px-2.5 py-0.5 text-xs font-medium ring-1 ring-inset", tones[tone].pill, className)}
      {...rest}
    />
  );
}

/**
 * A state indicator with a dot. `state` goes to data-state so tests and
 * styles read the machine value while people read the label.
 */
export function StatusPill({
  tone = "neutral",
  state,
  pulse,
  className,
  children,
  ...rest
}: HTMLAttributes<HTMLSpanElement> & { tone?: Tone; state?: string; pulse?: boolean }) {
  return (
    <span
      data-state={state}
      className={cn(
        "inline-flex items-center gap-2 rounded-full px-3 py-1 text-sm font-medium ring-1 ring-inset whitespace-nowrap",
        tones[tone].pill,
        className,
      )}
      {...rest}
    >
      <span aria-hidden="true" className={cn("size-2 rounded-full", tones[tone].dot, pulse && "animate-pulse")} />
      {children}
    </span>
  );
}
