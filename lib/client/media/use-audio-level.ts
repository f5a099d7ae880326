"use client";

import { useEffect, useState } from "react";
import { createLevelMeter } from "./level";

/**
 * The audio level of a stream (0..1 RMS), refreshed on animation frames and
 * published at most ~15 times a second (a meter needs no more, and React
 * should not re-render 60 times a second). 0 without a stream.
 */
export function useAudioLevel(stream: MediaStream | undefined, enabled = true): number {
  const [level, setLevel] = useState(0);

  useEffect(() => {
    if (!stream || !enabled) return;
    const meter = createLevelMeter(stream);
    if (!meter) return;
    let frame = 0;
    let last = 0;
    let shown = -1;
    const tick = (t: number) => {
      frame = requestAnimationFrame(tick);
      if (t - last < 66) return;
      last = t;
      const value = Math.round(meter.read() * 100) / 100;
      if (value !== shown) {
        shown = value;
        setLevel(value);
      }
    };
    frame = requestAnimationFrame(tick);
    return () => {
      cancelAnimationFrame(frame);
      meter.close();
      setLevel(0);
    };
  }, [stream, enabled]);

  return stream && enabled ? level : 0;
}
