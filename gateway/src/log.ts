/**
 * Structured logs: one JSON object per line on stderr (or a given sink), with a level, the component and
 * the event. Nothing secret is ever passed here: keys are referred to by file path or member id only.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | bigint | boolean | null | undefined>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  child(component: string): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(opts: { component: string; level?: LogLevel; sink?: (line: string) => void }): Logger {
  const min = ORDER[opts.level ?? "info"];
  const sink = opts.sink ?? ((line: string) => process.stderr.write(`${line}\n`));
  const write = (level: LogLevel, event: string, fields: LogFields = {}) => {
    if (ORDER[level] < min) return;
    const out: Record<string, unknown> = { t: new Date().toISOString(), level, component: opts.component, event };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = typeof v === "bigint" ? v.toString() : v;
    sink(JSON.stringify(out));
  };
  return {
    debug: (e, f) => write("debug", e, f),
    info: (e, f) => write("info", e, f),
    warn: (e, f) => write("warn", e, f),
    error: (e, f) => write("error", e, f),
    child: (component) => createLogger({ ...opts, component: `${opts.component}.${component}` }),
  };
}

/** Discards everything (tests, and the devnet which shows its own progress). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
