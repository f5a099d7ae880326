"use client";

import { useEffect, useState } from "react";
import { Button } from "@/components/ui/button";

/** Copies text to the clipboard and says so (politely, for screen readers too). */
export function CopyButton({ text, label = "Copy link", testId }: { text: string; label?: string; testId?: string }) {
  const [status, setStatus] = useState<"idle" | "copied" | "failed">("idle");

  useEffect(() => {
    if (status === "idle") return;
    const timer = setTimeout(() => setStatus("idle"), 2000);
    return () => clearTimeout(timer);
  }, [status]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setStatus("copied");
    } catch {
      setStatus("failed"); // insecure context or permission denied: the link is selectable
    }
  }

  return (
    <Button variant="secondary" onClick={() => void copy()} data-testid={testId} aria-live="polite">
      {status === "copied" ? "Copied ✓" : status === "failed" ? "Select and copy" : label}
    </Button>
  );
}
