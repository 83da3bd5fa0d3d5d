import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

/** A TrainFS server run as a child process (`trainfs-namenode` or `trainfs-datanode`). */
export interface NodeProcess {
  readonly pid: number;
  readonly address: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Resolves when a line the process printed on stdout (its announcements) contains `text`. */
  waitForLine(text: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs` if it has not exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

const require = createRequire(import.meta.url);

export type ServerPackage = "@trainfs/namenode" | "@trainfs/datanode" | "@trainfs/s3-gateway";

/** The built entry point of an app, e.g. binPath("@trainfs/datanode"). */
export function binPath(pkg: ServerPackage): string {
  return require.resolve(pkg).replace(/index\.js$/, "main.js");
}

/** A child process started by the kit: its output captured, its exit awaited, signalled only by its own PID. */
export interface ChildHandle {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<number | string>;
  /** The last lines it wrote on stderr (for errors). */
  readonly tail: string[];
  /** Every stdout line so far, and a hook for new ones. */
  readonly said: string[];
  onLine(listener: (line: string) => void): void;
  /** Sends `sig`; SIGKILL after `graceMs` if it has not exited; resolves when it has. */
  signal(sig: NodeJS.Signals, graceMs: number): Promise<void>;
}

/**
 * The one way the kit starts a process (TrainFS servers, etcd members):
 * stdout lines kept for waiting on, stderr to `logFile` (appended) with its
 * tail kept for errors, and signals sent only to this child's PID.
 */
export function spawnChild(command: string[], options: { logFile?: string; env?: NodeJS.ProcessEnv; stdoutToLog?: boolean } = {}): ChildHandle {
  const child: ChildProcess = spawn(command[0]!, command.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
  });
  const log = options.logFile ? createWriteStream(options.logFile, { flags: "a" }) : undefined;
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => {
    log?.write(`${line}\n`);
    tail.push(line);
    if (tail.length > 20) tail.shift();
  });
  const said: string[] = [];
  const listeners: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (options.stdoutToLog) log?.write(`${line}\n`);
    said.push(line);
    for (const l of [...listeners]) l(line);
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      log?.end();
      resolve(code ?? signal ?? -1);
    });
    // A command that cannot be started (ENOENT) ends here rather than throwing.
    child.once("error", (err) => {
      tail.push(err.message);
      log?.end();
      resolve(-1);
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    exited,
    tail,
    said,
    onLine: (listener) => void listeners.push(listener),
    signal: async (sig, graceMs) => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      child.kill(sig);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Starts a server process and waits for its "ready at <address>" line. Its
 * stdout lines (announcements such as "registered") can be waited for; its
 * stderr (JSON logs) goes to `logFile` when given, and its tail into errors.
 */
export async function startNodeProcess(
  pkg: ServerPackage,
  args: string[],
  options: {
    logFile?: string;
    env?: NodeJS.ProcessEnv;
    startTimeoutMs?: number;
    /** A command that runs the server, e.g. ["ip", "netns", "exec", "ns1"] (it must exec, keeping the pid). */
    wrap?: string[];
  } = {},
): Promise<NodeProcess> {
  // For profiling a cluster (docs/performance.md): each server writes a CPU profile when it exits.
  const profile = process.env.TRAINFS_CPU_PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.TRAINFS_CPU_PROF_DIR}`] : [];
  const command = [...(options.wrap ?? []), process.execPath, ...profile, binPath(pkg), ...args];
  const handle = spawnChild(command, { logFile: options.logFile, env: options.env });
  const { child, exited, tail, said } = handle;
  const watchers: Array<{ text: string; resolve: () => void }> = [];
  handle.onLine((line) => {
    for (const w of [...watchers]) {
      if (line.includes(w.text)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve();
      }
    }
  });

  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${pkg} did not become ready within ${options.startTimeoutMs ?? 20_000} ms:\n${tail.join("\n")}`));
    }, options.startTimeoutMs ?? 20_000);
    handle.onLine((line) => {
      const m = / ready at (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${pkg} exited (${code}) before it was ready:\n${tail.join("\n")}`));
    });
  });

  return {
    pid: handle.pid,
    address,
    exited,
    waitForLine: (text, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        if (said.some((l) => l.includes(text))) return resolve();
        const timer = setTimeout(() => reject(new Error(`no line with ${JSON.stringify(text)} within ${timeoutMs} ms:\n${tail.join("\n")}`)), timeoutMs);
        watchers.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
      }),
    stop: (graceMs = 5000) => handle.signal("SIGTERM", graceMs),
    kill: () => handle.signal("SIGKILL", 0),
  };
}
