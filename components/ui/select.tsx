import type { ReactNode, SelectHTMLAttributes } from "react";
import { cn } from "./cn";
import { Field, controlClasses, describedBy } from "./field";

export interface SelectOption {
  value: string;
  label: string;
}

export interface SelectProps extends SelectHTMLAttributes<HTMLSelectElement> {
  id: string;
  label: ReactNode;
  options: readonly SelectOption[];
  hint?: ReactNode;
  error?: ReactNode;
  /** Classes of the wrapper (label + control + message). */
  containerClassName?: string;
  errorTestId?: string;
}

export function Select({ id, label, options, hint, error, className, containerClassName, errorTestId, ...rest }: SelectProps) {
  return (
    <Field id={id} label={label} hint={hint} error={error} className={containerClassName} errorTestId={errorTestId}>
      <select
        id={id}
        className={cn(controlClasses, "appearance-auto pr-8", className)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, { hint, error })}
        {...rest}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Field>
  );
}
