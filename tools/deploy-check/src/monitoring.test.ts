import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parser } from "@prometheus-io/lezer-promql";
import { TrainfsClient } from "@trainfs/client";
import { MiniCluster } from "@trainfs/testkit";
import { readYamlDocuments, repoPath } from "./repo-files.js";

const dir = repoPath("deploy/monitoring");
const dashboard = JSON.parse(readFileSync(`${dir}/grafana-dashboard.json`, "utf8")) as {
  uid: string;
  templating: { list: Array<{ name: string; type: string }> };
  panels: Array<{ id: number; type: string; title: string; gridPos: object; datasource?: { uid: string }; targets?: Array<{ expr: string }> }>;
};
const [alerts] = readYamlDocuments(`${dir}/alerts.yml`) as [{ groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }];

/** Metrics Prometheus makes itself rather than scraping them. */
const SYNTHETIC = new Set(["up"]);

/** Every metric name a PromQL expression selects, from its syntax tree (lezer-promql, the Prometheus project's grammar). */
function metricNames(expr: string): string[] {
  const tree = parser.parse(expr);
  const names: string[] = [];
  let bad = false;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) bad = true;
      if (node.name === "VectorSelector") {
        const name = node.node.getChild("Identifier");
        if (name) names.push(expr.slice(name.from, name.to));
      }
    },
  });
  if (bad) throw new Error(`not valid PromQL: ${expr}`);
  return names;
}

/** A metric family a /metrics text declares, with the series names it gives (histograms: _bucket, _sum, _count). */
function declaredMetrics(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!m) continue;
    out.add(m[1]!);
    if (m[2] === "histogram" || m[2] === "summary") for (const s of ["_bucket", "_sum", "_count"]) out.add(`${m[1]}${s}`);
  }
  return out;
}

function promtool(...args: string[]): string {
  const run = spawnSync("promtool", args, { cwd: dir, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`promtool ${args.join(" ")} failed:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

describe("deploy/monitoring", () => {
  beforeAll(() => {
    // Debian's prometheus package, installed when missing (as scripts/test.sh does).
    execFileSync("bash", [repoPath("scripts/ensure-promtool.sh")], { stdio: "inherit" });
  }, 300_000);

  it("has alert rules promtool accepts, and whose unit tests pass", () => {
    expect(promtool("check", "rules", "alerts.yml")).toMatch(/SUCCESS: 9 rules found/);
    expect(promtool("test", "rules", "alerts.test.yml")).toMatch(/SUCCESS/);
    const names = alerts.groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const wanted of ["TrainfsNameNodeDown", "TrainfsDataNodeDead", "TrainfsMissingChunks", "TrainfsCorruptReplicas", "TrainfsUnderReplicated", "TrainfsDiskAlmostFull", "TrainfsSafeModeTooLong", "TrainfsScrubBehindSchedule"]) {
      expect(names).toContain(wanted);
    }
    // Every alert is exercised by a test (promtool passes a test file that never names an alert).
    const tests = readFileSync(`${dir}/alerts.test.yml`, "utf8");
    for (const name of names) expect(tests, name).toContain(`alertname: ${name}`);
  });

  it("catches a broken rule: the unit tests fail when a threshold changes", () => {
    const work = mkdtempSync(join(tmpdir(), "trainfs-rules-"));
    try {
      writeFileSync(join(work, "alerts.yml"), readFileSync(`${dir}/alerts.yml`, "utf8").replace("> 0.9 and", "> 0.99 and"));
      copyFileSync(`${dir}/alerts.test.yml`, join(work, "alerts.test.yml"));
      const run = spawnSync("promtool", ["test", "rules", "alerts.test.yml"], { cwd: work, encoding: "utf8" });
      expect(run.status).not.toBe(0);
      expect(run.stdout + run.stderr).toMatch(/TrainfsDiskAlmostFull/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("has scrape configurations promtool accepts", () => {
    expect(promtool("check", "config", "prometheus.yml")).toMatch(/SUCCESS/);
    // Debian builds Prometheus without Kubernetes discovery, so its promtool
    // refuses `kubernetes_sd_configs`; everything else of the file (relabeling
    // included) is checked with static targets in its place.
    const text = readFileSync(`${dir}/prometheus-kubernetes.yml`, "utf8");
    expect(text).toMatch(/kubernetes_sd_configs:\n\s+- role: pod\n/);
    const work = mkdtempSync(join(tmpdir(), "trainfs-scrape-"));
    try {
      writeFileSync(join(work, "prometheus.yml"), text.replace(/kubernetes_sd_configs:\n\s+- role: pod\n/, "static_configs:\n      - targets: []\n"));
      copyFileSync(`${dir}/alerts.yml`, join(work, "alerts.yml"));
      const run = spawnSync("promtool", ["check", "config", "prometheus.yml"], { cwd: work, encoding: "utf8" });
      expect(run.stdout + run.stderr).toMatch(/SUCCESS/);
      expect(run.status).toBe(0);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("ships the same rules for the Prometheus Operator, and pod monitors for both roles", () => {
    const [rule] = readYamlDocuments(`${dir}/prometheusrule.yaml`) as [{ kind: string; spec: { groups: unknown } }];
    expect(rule.kind).toBe("PrometheusRule");
    expect(rule.spec.groups).toEqual(alerts.groups);
    const monitors = readYamlDocuments(`${dir}/servicemonitor.yaml`) as Array<{ kind: string; spec: { selector: { matchLabels: Record<string, string> } } }>;
    expect(monitors.map((m) => [m.kind, m.spec.selector.matchLabels["app.kubernetes.io/name"]])).toEqual([
      ["PodMonitor", "trainfs-namenode"],
      ["PodMonitor", "trainfs-datanode"],
    ]);
  });

  it("has a Grafana dashboard of valid panels, each query valid PromQL on the chosen data source", () => {
    expect(dashboard.uid).toBe("trainfs-overview");
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: "datasource", type: "datasource" }));
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const queries = dashboard.panels.filter((p) => p.type !== "row");
    expect(queries.length).toBeGreaterThanOrEqual(20);
    for (const p of queries) {
      expect(p.datasource?.uid, p.title).toBe("${datasource}");
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) expect(metricNames(t.expr).length, t.expr).toBeGreaterThan(0);
    }
    expect(() => metricNames("sum(rate(trainfs_rpc_requests_total[1m])")).toThrow(/not valid PromQL/);
  });

  describe("against a live cluster", () => {
    let cluster: MiniCluster;
    beforeAll(async () => {
      cluster = await MiniCluster.start({ heartbeatIntervalMs: 100 });
      const fs = new TrainfsClient({ namenode: cluster.nameNodeAddress, chunkSize: 64 * 1024 });
      await fs.writeFile("/m", Buffer.alloc(100_000, 1));
      await fs.readFile("/m");
      fs.close();
    }, 60_000);
    afterAll(() => cluster?.shutdown());

    it("serves every metric the dashboard and the alert rules query", async () => {
      const served = new Set<string>();
      for (const address of [cluster.nameNodeAddress, ...[0, 1, 2].map((i) => cluster.dataNodeAddress(i))]) {
        for (const name of declaredMetrics(await (await fetch(`${address}/metrics`)).text())) served.add(name);
      }
      const queried = new Set<string>();
      for (const p of dashboard.panels) for (const t of p.targets ?? []) for (const n of metricNames(t.expr)) queried.add(n);
      for (const g of alerts.groups) for (const r of g.rules) for (const n of metricNames(r.expr)) queried.add(n);
      expect(queried.size).toBeGreaterThan(20);
      const missing = [...queried].filter((n) => !served.has(n) && !SYNTHETIC.has(n));
      expect(missing).toEqual([]);
    });
  });
});
