import type { HTMLAttributes, ReactNode } from "react";
import { cn } from "./cn";

export interface CardProps extends Omit<HTMLAttributes<HTMLElement>, "title"> {
  title?: ReactNode;
  /** Short text under the title. */
  description?: ReactNode;
  /** Right side of the header (a pill, a small action). */
  aside?: ReactNode;
}

/** A white panel; a titled card is a labelled section for screen readers. */
export function Card({ title, description, aside, className, children, ...rest }: CardProps) {
  const headingId = rest.id ? `${rest.id}-title` : undefined;
  return (
    <section
      className={cn("rounded-2xl bg-white p-5 shadow-sm ring-1 ring-slate-200 sm:p-6", className)}
      aria-labelledby={title && headingId ? headingId : undefined}
      {...rest}
    >
      {title || aside ? (
        <div className="mb-4 flex items-start justify-between gap-3">
          <div>
            {title ? (
              <h2 id={headingId} className="text-lg font-semibold text-slate-900">
                {title}
              </h2>
            ) : null}
            {description ? <p className="mt-1 text-sm text-slate-600">{description}</p> : null}
          </div>
          {aside}
        </div>
      ) : null}
      {children}
    </section>
  );
}
