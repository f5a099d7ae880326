/**
 * A named logger for the media module. Warnings and errors always reach the
 * console; debug lines only when `localStorage["earshot.debug"]` is "1" or
 * names the logger (e.g. "rtc:viewer").
 */
export interface RtcLogger {
  debug(message: string, data?: unknown): void;
  warn(message: string, data?: unknown): void;
  error(message: string, data?: unknown): void;
}

function debugEnabled(name: string): boolean {
  try {
    const flag = globalThis.localStorage?.getItem("earshot.debug");
    return flag === "1" || (flag ?? "").split(",").includes(name);
  } catch {
    return false;
  }
}

export function rtcLogger(name: string): RtcLogger {
  const prefix = `[${name}]`;
  return {
    debug(message, data) {
      if (debugEnabled(name)) console.debug(prefix, message, ...(data === undefined ? [] : [data]));
    },
    warn(message, data) {
      console.warn(prefix, message, ...(data === undefined ? [] : [data]));
    },
    error(message, data) {
      console.error(prefix, message, ...(data === undefined ? [] : [data]));
    },
  };
}
