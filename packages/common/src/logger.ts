import { pino, destination, type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";
import { currentRequestId } from "@trainfs/node";

export type { Logger };

/**
 * One logger per process, tagged with its role, on stderr: JSON lines for
 * log collectors, or pino-pretty's coloured lines when stderr is a terminal
 * (TRAINFS_LOG_FORMAT=json|pretty overrides). Lines written while serving a
 * call carry its request id as `reqId` (see request-id.ts).
 */
export function createLogger(role: string, level: string, base: Record<string, unknown> = {}, dest: DestinationStream = logDestination()): Logger {
  return pino(
    {
      level,
      base: { role, ...base },
      mixin: () => {
        const reqId = currentRequestId();
        return reqId ? { reqId } : {};
      },
    },
    dest,
  );
}

function logDestination(): DestinationStream {
  const format = process.env.TRAINFS_LOG_FORMAT ?? (process.stderr.isTTY ? "pretty" : "json");
  // Synchronous, in this thread: no worker to lose lines when the process exits.
  if (format === "pretty") return pretty({ destination: 2, sync: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" });
  return destination(2);
}

/**
 * An append-only line stream to a file (pino's SonicBoom): buffered off the
 * caller's path, created with its directory if missing; `flushSync` before
 * `end` saves what is buffered. For logs of their own, like the NameNode's
 * audit log.
 */
export function appendStream(file: string): { write(line: string): void; flushSync(): void; end(): void } {
  return destination({ dest: file, append: true, sync: false, mkdir: true, minLength: 0 });
}
