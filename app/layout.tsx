import type { Metadata, Viewport } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Earshot: live audio to every phone in the room", template: "%s · Earshot" },
  description: "A speaker talks; listeners hear them live in their browser. No app, no account for listeners.",
  referrer: "no-referrer",
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  themeColor: "#4338ca",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-dvh">
        <a
          href="#main"
          className="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:z-50 focus:rounded-lg focus:bg-white focus:px-4 focus:py-2 focus:shadow"
        >
          Skip to content
        </a>
        <header className="border-b border-slate-200 bg-white/80 backdrop-blur">
          <nav aria-label="Main" className="mx-auto flex max-w-3xl items-center justify-between px-4 py-3">
            <Link href="/" className="flex items-center gap-2 text-lg font-bold tracking-tight text-slate-900">
              <span aria-hidden="true" className="grid size-8 place-items-center rounded-lg bg-brand-600 text-white">
                ◖
              </span>
              Earshot
            </Link>
            <div className="flex items-center gap-1 text-sm font-medium">
              <Link href="/join" className="rounded-lg px-3 py-2 text-slate-700 hover:bg-slate-100">
                Listen
              </Link>
              <Link href="/speaker" className="rounded-lg px-3 py-2 text-slate-700 hover:bg-slate-100">
                Speak
              </Link>
            </div>
          </nav>
        </header>
        <main id="main" className="mx-auto w-full max-w-3xl px-4 py-6 sm:py-10">
          {children}
        </main>
      </body>
    </html>
  );
}
