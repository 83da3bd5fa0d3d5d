import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { onCallEnd } from "./intercept.js";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * A process's Prometheus metrics (prom-client), served at `/metrics` on its
 * port: every RPC by method and code with a latency histogram, the process's
 * own figures (memory, CPU, event-loop lag), and gauges the role adds, read at
 * scrape time from the live state rather than kept in step by hand.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly calls: Counter<"method" | "code">;
  private readonly latency: Histogram<"method">;

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
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
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
    return (err) => {
      const code = err === undefined ? "ok" : snake(Code[ConnectError.from(err).code] ?? "unknown");
      this.calls.inc({ method, code });
      this.latency.observe({ method }, Number(process.hrtime.bigint() - started) / 1e9);
      return undefined;
    };
  }
}

function snake(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
