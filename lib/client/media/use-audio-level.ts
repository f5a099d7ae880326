"use client";

import { useEffect, useState } from "react";
import { createLevelMeter } from "./level";

/** A meter needs no more than this; a phone's battery and a busy page thank it. */
const REFRESH_MS = 100;

/**
 * The audio level of a stream (0..1 RMS), read about ten times a second.
 * A timer, not requestAnimationFrame: animation frames would make the page
 * draw 60 frames a second for a bar. 0 without a stream.
 */
export function useAudioLevel(stream: MediaStream | undefined, enabled = true): number {
  const [level, setLevel] = useState(0);

  useEffect(() => {
    if (!stream || !enabled) return;
    const meter = createLevelMeter(stream);
    if (!meter) return;
    let shown = -1;
    const timer = setInterval(() => {
      const value = Math.round(meter.read() * 100) / 100;
      if (value !== shown) {
        shown = value;
        setLevel(value);
      }
    }, REFRESH_MS);
    return () => {
      clearInterval(timer);
      meter.close();
      setLevel(0);
    };
  }, [stream, enabled]);

  return stream && enabled ? level : 0;
}
