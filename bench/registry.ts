import type { Benchmark } from "./types";
import { churn } from "./churn";
import { controlPlane } from "./control-plane";
import { fanout } from "./fanout";
import { listenerJoin } from "./listener-join";
import { pageWeight } from "./page-weight";
import { translation } from "./translation";

/** Every benchmark `npm run bench` runs, in order. Add new ones here. */
export const BENCHMARKS: readonly Benchmark[] = [controlPlane, churn, listenerJoin, fanout, pageWeight, translation];
