import type { Logger } from "./control/ports";

/** Named loggers writing one line per event: `level name message {data}`. */

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

let threshold: number = LEVELS[(process.env.EARSHOT_LOG_LEVEL as LogLevel | undefined) ?? "info"] ?? LEVELS.info;

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

export function createLogger(name: string): Logger {
  const write = (level: Exclude<LogLevel, "silent">, msg: string, data?: Record<string, unknown>) => {
    if (LEVELS[level] < threshold) return;
    const line = `${new Date().toISOString()} ${level.padEnd(5)} [${name}] ${msg}${data ? " " + safeJson(data) : ""}`;
    (level === "error" || level === "warn" ? console.error : console.log)(line);
  };
  return {
    debug: (m, d) => write("debug", m, d),
    info: (m, d) => write("info", m, d),
    warn: (m, d) => write("warn", m, d),
    error: (m, d) => write("error", m, d),
  };
}

function safeJson(data: Record<string, unknown>): string {
  try {
    return JSON.stringify(data, (_k, v) => (v instanceof Error ? { name: v.name, message: v.message } : v));
  } catch {
    return "[unserializable]";
  }
}
