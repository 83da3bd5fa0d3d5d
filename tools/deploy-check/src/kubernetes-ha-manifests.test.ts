import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readYamlDocuments, repoPath, yamlFilesIn } from "./repo-files.js";
import { validateKubernetesObject } from "./kubernetes-schema.js";
import { HA_NAMENODE_ENV, defaultClaims, deployedHaSettingProblems, pendingHaNameNodeEnv, unknownConfigEnv } from "./config-env.js";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
}

const haDir = repoPath("deploy/kubernetes-ha");
const haFiles = yamlFilesIn(haDir).filter((f) => !f.endsWith("kustomization.yaml"));
const objects = haFiles.flatMap((file) => readYamlDocuments(file) as K8sObject[]);
const baseObjects = yamlFilesIn(repoPath("deploy/kubernetes")).filter((f) => !f.endsWith("kustomization.yaml")).flatMap((file) => readYamlDocuments(file) as K8sObject[]);

function find(list: K8sObject[], kind: string, name: string): K8sObject {
  const object = list.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`no ${kind} ${name}`);
  return object;
}
const container = (set: K8sObject): Container => set.spec.template.spec.containers[0];
const env = (c: Container, name: string) => c.env?.find((e) => e.name === name);
const arg = (c: Container, name: string) => c.args?.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
/** `$(VAR)` expands only from variables defined earlier in the list. */
function expandsFromEarlier(c: Container, name: string): void {
  const names = c.env!.map((e) => e.name);
  const value = env(c, name)?.value ?? "";
  for (const ref of value.matchAll(/\$\(([A-Z_]+)\)/g)) {
    expect(names.indexOf(ref[1]!), `${name} uses $(${ref[1]})`).toBeGreaterThanOrEqual(0);
    expect(names.indexOf(ref[1]!), `${name} uses $(${ref[1]})`).toBeLessThan(names.indexOf(name));
  }
}

describe("deploy/kubernetes-ha (NameNode HA)", () => {
  it("holds etcd, two NameNodes, the DataNodes and the S3 gateway, all listed in its kustomization", () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "Deployment/trainfs-s3-gateway",
      "NetworkPolicy/trainfs-etcd",
      "PodDisruptionBudget/trainfs-datanode",
      "PodDisruptionBudget/trainfs-etcd",
      "Service/trainfs-datanode",
      "Service/trainfs-etcd",
      "Service/trainfs-namenode",
      "Service/trainfs-s3-gateway",
      "StatefulSet/trainfs-datanode",
      "StatefulSet/trainfs-etcd",
      "StatefulSet/trainfs-namenode",
    ]);
    const [kustomization] = readYamlDocuments(repoPath("deploy/kubernetes-ha/kustomization.yaml")) as Array<{ resources: string[]; images: Array<{ name: string }> }>;
    expect(kustomization!.resources.map((r) => repoPath("deploy/kubernetes-ha", r)).sort()).toEqual(haFiles);
    for (const resource of kustomization!.resources) expect(existsSync(repoPath("deploy/kubernetes-ha", resource))).toBe(true);
    // Every image a manifest names is one the kustomization points somewhere.
    const images = new Set(objects.flatMap((o) => (o.spec?.template?.spec?.containers ?? []).map((c: { image: string }) => c.image.split(":")[0])));
    expect([...images].sort()).toEqual(kustomization!.images.map((i) => i.name).sort());
  });

  it.each(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))("%s conforms to the Kubernetes API schema", (_, object) => {
    expect(() => validateKubernetesObject(object)).not.toThrow();
  });

  it("runs etcd as a StatefulSet of three behind a headless Service, each member on its claim, naming all three as its initial cluster", () => {
    const set = find(objects, "StatefulSet", "trainfs-etcd");
    expect(set.spec.replicas).toBe(3);
    expect(set.spec.podManagementPolicy).toBe("Parallel");
    const service = find(objects, "Service", set.spec.serviceName);
    expect(service.spec.clusterIP).toBe("None");
    expect(service.spec.publishNotReadyAddresses).toBe(true);
    expect(set.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    const c = container(set);
    const dns = (i: number | string, port: number) => `http://${i}.${service.metadata.name}.$(POD_NAMESPACE).svc.cluster.local:${port}`;
    expect(arg(c, "name")).toBe("$(POD_NAME)");
    expect(arg(c, "initial-cluster")).toBe([0, 1, 2].map((i) => `${set.metadata.name}-${i}=${dns(`${set.metadata.name}-${i}`, 2380)}`).join(","));
    expect(arg(c, "advertise-client-urls")).toBe(dns("$(POD_NAME)", 2379));
    expect(arg(c, "initial-advertise-peer-urls")).toBe(dns("$(POD_NAME)", 2380));
    expect(Number(arg(c, "quota-backend-bytes"))).toBeGreaterThan(0);
    expect(arg(c, "data-dir")!.startsWith(c.volumeMounts!.find((m) => m.name === "data")!.mountPath + "/")).toBe(true);
    expect(set.spec.volumeClaimTemplates.map((t: K8sObject) => t.metadata.name)).toEqual(["data"]);
    expect(env(c, "POD_NAME")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
    expect(env(c, "POD_NAMESPACE")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.namespace");
    expect(c.readinessProbe?.httpGet?.path).toBe("/health");
    expect(find(objects, "PodDisruptionBudget", "trainfs-etcd").spec.maxUnavailable).toBe(1);
    // Only NameNodes and other members reach it.
    const policy = find(objects, "NetworkPolicy", "trainfs-etcd");
    const from = policy.spec.ingress.flatMap((rule: { from: Array<{ podSelector: { matchLabels: Record<string, string> } }> }) => rule.from.map((f) => f.podSelector.matchLabels["app.kubernetes.io/name"]));
    expect(from.sort()).toEqual(["trainfs-etcd", "trainfs-namenode"]);
  });

  it("runs two NameNodes with HA on: every etcd member, each its pod's stable name as its address, behind a headless Service", () => {
    const set = find(objects, "StatefulSet", "trainfs-namenode");
    expect(set.spec.replicas).toBe(2);
    const service = find(objects, "Service", set.spec.serviceName);
    expect(service.spec.clusterIP).toBe("None");
    expect(service.spec.publishNotReadyAddresses).toBe(true);
    const c = container(set);
    const etcd = find(objects, "StatefulSet", "trainfs-etcd");
    const etcdService = find(objects, "Service", etcd.spec.serviceName);
    expect(env(c, "TRAINFS_NAMENODE_HA_ETCD")?.value).toBe([0, 1, 2].map((i) => `http://${etcd.metadata.name}-${i}.${etcdService.metadata.name}.$(POD_NAMESPACE).svc.cluster.local:2379`).join(","));
    expect(env(c, "TRAINFS_NAMENODE_ADVERTISE_ADDRESS")?.value).toBe(`http://$(POD_NAME).${service.metadata.name}.$(POD_NAMESPACE).svc.cluster.local:${env(c, "TRAINFS_NAMENODE_PORT")?.value}`);
    expandsFromEarlier(c, "TRAINFS_NAMENODE_HA_ETCD");
    expandsFromEarlier(c, "TRAINFS_NAMENODE_ADVERTISE_ADDRESS");
    expect(set.spec.volumeClaimTemplates.map((t: K8sObject) => t.metadata.name)).toEqual(["data"]);
    // Both share the Secret: the cluster secret (so the chunk-token keys) and the API tokens.
    expect(env(c, "TRAINFS_NAMENODE_CLUSTER_SECRET")?.valueFrom?.secretKeyRef).toEqual({ name: "trainfs", key: "cluster-secret" });
  });

  it("gives the DataNodes and the S3 gateway every NameNode's address, and is otherwise deploy/kubernetes", () => {
    const nn = find(objects, "StatefulSet", "trainfs-namenode");
    const port = env(container(nn), "TRAINFS_NAMENODE_PORT")!.value;
    const list = [0, 1].map((i) => `http://${nn.metadata.name}-${i}.${nn.spec.serviceName}.$(POD_NAMESPACE).svc.cluster.local:${port}`).join(",");
    const pairs = [
      ["StatefulSet", "trainfs-datanode", "TRAINFS_DATANODE_NAMENODE"],
      ["Deployment", "trainfs-s3-gateway", "TRAINFS_S3_NAMENODE"],
    ] as const;
    for (const [kind, name, variable] of pairs) {
      const c = container(find(objects, kind, name));
      expect(env(c, variable)?.value, name).toBe(list);
      expandsFromEarlier(c, variable);
      // Apart from the NameNode list (and the namespace it needs), the same as the single-NameNode manifest.
      const strip = (o: K8sObject) => {
        const copy = structuredClone(o);
        const k = copy.spec.template.spec.containers[0] as Container;
        k.env = k.env!.filter((e) => e.name !== variable && !(kind === "Deployment" && e.name === "POD_NAMESPACE"));
        return copy;
      };
      expect(strip(find(objects, kind, name)), name).toEqual(strip(find(baseObjects, kind, name)));
    }
    for (const kind of ["Service", "PodDisruptionBudget"]) {
      expect(find(objects, kind, "trainfs-datanode")).toEqual(find(baseObjects, kind, "trainfs-datanode"));
    }
  });

  it("sets only settings the processes have, with values they accept (the HA NameNode settings once the NameNode has them)", () => {
    const pending = pendingHaNameNodeEnv();
    for (const name of pending) expect(HA_NAMENODE_ENV).toContain(name);
    const claims = new Set(haFiles.flatMap((file) => [...defaultClaims(readFileSync(file, "utf8"))]));
    const settings = (c: Container) => c.env!.map((e) => ({ name: e.name, value: e.value, claimsDefault: claims.has(e.name) }));
    const namenode = container(find(objects, "StatefulSet", "trainfs-namenode"));
    const datanode = container(find(objects, "StatefulSet", "trainfs-datanode"));
    const gateway = container(find(objects, "Deployment", "trainfs-s3-gateway"));
    expect(unknownConfigEnv("namenode", namenode.env!.map((e) => e.name)).filter((n) => !pending.includes(n))).toEqual([]);
    expect(unknownConfigEnv("datanode", datanode.env!.map((e) => e.name))).toEqual([]);
    expect(unknownConfigEnv("s3-gateway", gateway.env!.map((e) => e.name))).toEqual([]);
    expect(deployedHaSettingProblems("namenode", settings(namenode))).toEqual([]);
    expect(deployedHaSettingProblems("datanode", settings(datanode))).toEqual([]);
    expect(deployedHaSettingProblems("s3-gateway", settings(gateway))).toEqual([]);
  });
});
