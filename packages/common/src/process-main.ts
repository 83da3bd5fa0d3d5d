import { TrainfsError, errorMessage } from "@trainfs/core";

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Runs a server process: starts it, prints one "ready" line on stdout (which
 * scripts and the test kit wait for), and stops it cleanly on SIGINT or
 * SIGTERM. Start-up errors (bad config, port in use) are printed plainly and
 * exit with status 2 (configuration) or 1.
 */
export async function runServerProcess(
  name: string,
  start: () => Promise<Stoppable & { address: string }>,
): Promise<void> {
  let server: Stoppable & { address: string };
  try {
    server = await start();
  } catch (err) {
    process.stderr.write(`${name}: ${startupMessage(err)}\n`);
    process.exit(err instanceof TrainfsError && err.code === "invalid_argument" ? 2 : 1);
  }
  process.stdout.write(`${name} ready at ${server.address}\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${name}: ${signal} received, stopping\n`);
    try {
      await server.stop();
      process.exit(0);
    } catch (err) {
      process.stderr.write(`${name}: error while stopping: ${errorMessage(err)}\n`);
      process.exit(1);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

function startupMessage(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "EADDRINUSE") return `cannot listen: address already in use (${errorMessage(err)}); choose another --port`;
  if (code === "EACCES") return `permission denied: ${errorMessage(err)}`;
  return errorMessage(err);
}
