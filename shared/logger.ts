import { pino, type Logger } from 'pino';

export type { Logger };

/** One structured JSON logger per process; children carry a `component` field. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}
