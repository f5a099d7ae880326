import type { InputHTMLAttributes, ReactNode } from "react";
import { cn } from "./cn";
import { Field, controlClasses, describedBy } from "./field";

export interface InputProps extends InputHTMLAttributes<HTMLInputElement> {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: ReactNode;
  /** Classes of the wrapper (label + control + message). */
  containerClassName?: string;
  errorTestId?: string;
}

export function Input({ id, label, hint, error, className, containerClassName, errorTestId, ...rest }: InputProps) {
  return (
    <Field id={id} label={label} hint={hint} error={error} className={containerClassName} errorTestId={errorTestId}>
      <input
        id={id}
        className={cn(controlClasses, className)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, { hint, error })}
        {...rest}
      />
    </Field>
  );
}
