import type { Benchmark } from "./types";
import { controlPlane } from "./control-plane";

/** Every benchmark `npm run bench` runs, in order. Add new ones here. */
export const BENCHMARKS: readonly Benchmark[] = [controlPlane];
