import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { createRequire } from "node:module";
import { onCallEnd } from "./intercept.js";
import { codeName } from "./rpc-server.js";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * A process's Prometheus metrics (prom-client), served at `/metrics` on its
 * port: every RPC by method and code with a latency histogram, the process's
 * own figures (memory, CPU, event-loop lag), and gauges the role adds, read at
 * scrape time from the live state rather than kept in step by hand.
 */
/** The release of this build (the workspace's packages share one version). */
export const TRAINFS_VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

export class Metrics {
  readonly registry = new Registry();
  private readonly calls: Counter<"method" | "code">;
  private readonly latency: Histogram<"method">;
  private readonly inFlight: Gauge<"method">;

  constructor(readonly role: string) {
    collectDefaultMetrics({ register: this.registry, prefix: "trainfs_" });
    this.registry.setDefaultLabels({ role });
    this.calls = new Counter({ name: "trainfs_rpc_requests_total", help: "RPCs served, by method and Connect code.", labelNames: ["method", "code"], registers: [this.registry] });
    this.latency = new Histogram({
      name: "trainfs_rpc_duration_seconds",
      help: "Time to serve an RPC (for streams, until the stream ends).",
      labelNames: ["method"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.inFlight = new Gauge({ name: "trainfs_rpc_in_flight", help: "RPCs being served now, by method.", labelNames: ["method"], registers: [this.registry] });
    new Gauge({ name: "trainfs_build_info", help: "Always 1; the version label names the release.", labelNames: ["version"], registers: [this.registry] }).set(
      { version: TRAINFS_VERSION },
      1,
    );
  }

  /** Calls served and seconds spent, by method, since start: cheap to read for the NameNode's own history. */
  readonly callTotals = new Map<string, { count: number; seconds: number }>();

  histogram(name: string, help: string, buckets: number[], labelNames: string[] = []): Histogram<string> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** A counter whose total(s) `read` gives at each scrape, from a tally the role keeps. */
  counterFrom(name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, total: number) => void) => void): Counter<string> {
    return new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        read((labels, total) => this.inc(labels, total));
      },
    });
  }

  /** A gauge whose value(s) `read` sets at each scrape. */
  gauge(name: string, help: string, labelNames: string[], read: (g: Gauge<string>) => void | Promise<void>): Gauge<string> {
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        await read(this);
      },
    });
  }

  /** Counts and times every RPC the server handles. */
  interceptor(): Interceptor {
    return onCallEnd((method) => this.beginCall(method));
  }

  /** Starts counting one call (an RPC, or a data-transfer call); the result ends it. */
  beginCall(method: string): (err?: unknown) => undefined {
    const started = process.hrtime.bigint();
    this.inFlight.inc({ method });
    return (err) => {
      this.inFlight.dec({ method });
      const code = err === undefined ? "ok" : codeName(ConnectError.from(err).code);
      this.calls.inc({ method, code });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.latency.observe({ method }, seconds);
      const total = this.callTotals.get(method) ?? { count: 0, seconds: 0 };
      total.count++;
      total.seconds += seconds;
      this.callTotals.set(method, total);
      return undefined;
    };
  }
}
