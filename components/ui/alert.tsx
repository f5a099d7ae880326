import type { HTMLAttributes } from "react";
import { cn } from "./cn";

/** An inline message; errors are announced (role=alert), notices politely. */
export function Alert({ tone = "error", className, ...rest }: HTMLAttributes<HTMLDivElement> & { tone?: "error" | "notice" }) {
  return (
    <div
      role={tone === "error" ? "alert" : "status"}
      className={cn(
        "rounded-xl px-4 py-3 text-sm ring-1 ring-inset",
        tone === "error" ? "bg-red-50 text-red-800 ring-red-200" : "bg-sky-50 text-sky-900 ring-sky-200",
        className,
      )}
      {...rest}
    />
  );
}
