import { pino, destination, type Logger } from "pino";

export type { Logger };

/** JSON lines on stderr, one logger per process, tagged with its role. */
export function createLogger(role: string, level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { role, ...base } }, destination(2));
}
