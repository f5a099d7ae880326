import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Pacer } from "@/lib/client/rtc/pacer";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("Pacer", () => {
  it("sends a burst at once, then one per token, in order", async () => {
    const pacer = new Pacer(5, 5);
    const sent: number[] = [];
    for (let i = 1; i <= 8; i++) pacer.schedule(() => sent.push(i));
    expect(sent).toEqual([1, 2, 3, 4, 5]);
    expect(pacer.pending).toBe(3);
    await vi.advanceTimersByTimeAsync(199);
    expect(sent).toEqual([1, 2, 3, 4, 5]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([1, 2, 3, 4, 5, 6]);
    await vi.advanceTimersByTimeAsync(400);
    expect(sent).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("refills over time and never exceeds the burst", async () => {
    const pacer = new Pacer(20, 20);
    const sent: number[] = [];
    for (let i = 0; i < 20; i++) pacer.schedule(() => sent.push(i));
    await vi.advanceTimersByTimeAsync(10_000);
    for (let i = 0; i < 25; i++) pacer.schedule(() => sent.push(100 + i));
    expect(sent).toHaveLength(40);
  });

  it("clear() drops what waits; a throwing send does not stop the queue", async () => {
    const pacer = new Pacer(1, 1);
    const sent: string[] = [];
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    pacer.schedule(() => {
      throw new Error("boom");
    });
    pacer.schedule(() => sent.push("a"));
    pacer.schedule(() => sent.push("b"));
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual(["a"]);
    expect(logged).toHaveBeenCalledTimes(1);
    pacer.clear();
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual(["a"]);
  });
});
