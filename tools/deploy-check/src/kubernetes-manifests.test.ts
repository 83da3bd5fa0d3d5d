import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readYamlDocuments, repoPath, yamlFilesIn } from "./repo-files.js";
import { validateKubernetesObject } from "./kubernetes-schema.js";
import { defaultClaims, deployedSettingProblems, unknownConfigEnv } from "./config-env.js";
import { s3GatewayDefaults } from "@trainfs/s3-gateway";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  stringData?: Record<string, string>;
}

const dir = repoPath("deploy/kubernetes");
const manifestFiles = yamlFilesIn(dir).filter((f) => !f.endsWith("kustomization.yaml"));
const objects = manifestFiles.flatMap((file) => readYamlDocuments(file) as K8sObject[]);

function find(kind: string, name: string): K8sObject {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return object;
}
function container(set: K8sObject): Container {
  // Deployments and StatefulSets alike.
  return set.spec.template.spec.containers[0];
}
function env(c: Container, name: string): EnvVar | undefined {
  return c.env?.find((e) => e.name === name);
}

describe("deploy/kubernetes", () => {
  it("holds the NameNode, DataNode, S3 gateway and Secret manifests", () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "Deployment/trainfs-s3-gateway",
      "PodDisruptionBudget/trainfs-datanode",
      "Secret/trainfs",
      "Service/trainfs-datanode",
      "Service/trainfs-namenode",
      "Service/trainfs-s3-gateway",
      "StatefulSet/trainfs-datanode",
      "StatefulSet/trainfs-namenode",
    ]);
  });

  it.each(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))("%s conforms to the Kubernetes API schema", (_, object) => {
    expect(() => validateKubernetesObject(object)).not.toThrow();
  });

  it("the schema check rejects a malformed object", () => {
    const broken = structuredClone(find("StatefulSet", "trainfs-datanode"));
    broken.spec.replicas = "three";
    expect(() => validateKubernetesObject(broken)).toThrow(/replicas must be integer/);
    const noPort = structuredClone(find("StatefulSet", "trainfs-datanode"));
    delete noPort.spec.template.spec.containers[0].readinessProbe.httpGet.port;
    expect(() => validateKubernetesObject(noPort)).toThrow(/httpGet must have required property port/);
    expect(() => validateKubernetesObject({ apiVersion: "v1", kind: "Nonsense", metadata: { name: "x" } })).toThrow(/no schema/);
  });

  it("kustomization.yaml lists files that exist", () => {
    const [kustomization] = readYamlDocuments(repoPath("deploy/kubernetes/kustomization.yaml")) as Array<{ resources: string[] }>;
    expect(kustomization!.resources.length).toBeGreaterThan(0);
    for (const resource of kustomization!.resources) expect(existsSync(repoPath("deploy/kubernetes", resource)), resource).toBe(true);
  });

  it("runs the NameNode as a StatefulSet of one with a volume claim, behind a Service", () => {
    const set = find("StatefulSet", "trainfs-namenode");
    expect(set.spec.replicas).toBe(1);
    expect(set.spec.volumeClaimTemplates.map((t: K8sObject) => t.metadata.name)).toEqual(["data"]);
    const c = container(set);
    expect(c.volumeMounts).toContainEqual({ name: "data", mountPath: "/data" });
    expect(env(c, "TRAINFS_NAMENODE_DATA_DIR")?.value).toBe("/data");
    expect(env(c, "TRAINFS_NAMENODE_HOST")?.value).toBe("0.0.0.0");
    const service = find("Service", set.spec.serviceName);
    expect(set.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(service.spec.ports[0].port).toBe(Number(env(c, "TRAINFS_NAMENODE_PORT")?.value));
  });

  it("runs DataNodes as a StatefulSet with volume claims, a headless Service and probes", () => {
    const set = find("StatefulSet", "trainfs-datanode");
    expect(set.spec.volumeClaimTemplates.map((t: K8sObject) => t.metadata.name)).toEqual(["data"]);
    const service = find("Service", set.spec.serviceName);
    expect(service.spec.clusterIP).toBe("None");
    expect(service.spec.selector).toEqual(set.spec.selector.matchLabels);
    const c = container(set);
    const portNames = c.ports!.map((p) => p.name);
    expect(c.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(c.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(portNames).toContain(c.readinessProbe?.httpGet?.port);
    expect(portNames).toContain(c.livenessProbe?.httpGet?.port);
  });

  it("each DataNode pod advertises its stable DNS name, from the downward API", () => {
    const set = find("StatefulSet", "trainfs-datanode");
    const c = container(set);
    const names = c.env!.map((e) => e.name);
    expect(env(c, "POD_NAME")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
    expect(env(c, "POD_NAMESPACE")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.namespace");
    const advertise = env(c, "TRAINFS_DATANODE_ADVERTISE_ADDRESS")!;
    expect(advertise.value).toBe(`http://$(POD_NAME).${set.spec.serviceName}.$(POD_NAMESPACE).svc.cluster.local:${env(c, "TRAINFS_DATANODE_PORT")?.value}`);
    // Kubernetes expands $(VAR) only from variables defined earlier in the list.
    expect(names.indexOf("POD_NAME")).toBeLessThan(names.indexOf("TRAINFS_DATANODE_ADVERTISE_ADDRESS"));
    expect(names.indexOf("POD_NAMESPACE")).toBeLessThan(names.indexOf("TRAINFS_DATANODE_ADVERTISE_ADDRESS"));
    const namenode = find("Service", "trainfs-namenode");
    expect(env(c, "TRAINFS_DATANODE_NAMENODE")?.value).toBe(`http://${namenode.metadata.name}:${namenode.spec.ports[0].port}`);
  });

  it("takes the cluster secret and API tokens from the Secret", () => {
    const secret = find("Secret", "trainfs");
    const fromSecret = (c: Container, name: string) => {
      const ref = env(c, name)?.valueFrom?.secretKeyRef;
      expect(ref, name).toBeDefined();
      expect(ref!.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData!)).toContain(ref!.key);
      return ref!.key;
    };
    const namenode = container(find("StatefulSet", "trainfs-namenode"));
    const datanode = container(find("StatefulSet", "trainfs-datanode"));
    expect(fromSecret(namenode, "TRAINFS_NAMENODE_CLUSTER_SECRET")).toBe(fromSecret(datanode, "TRAINFS_DATANODE_CLUSTER_SECRET"));
    fromSecret(namenode, "TRAINFS_NAMENODE_API_TOKENS");
  });

  it("runs the S3 gateway as a Deployment behind a Service, on the NameNode's Service, with its token and key pairs from the Secret", () => {
    const deployment = find("Deployment", "trainfs-s3-gateway");
    expect(deployment.spec.replicas).toBeGreaterThan(1);
    const c = container(deployment);
    const service = find("Service", "trainfs-s3-gateway");
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(service.spec.ports[0].port).toBe(s3GatewayDefaults.port);
    expect(Number(env(c, "TRAINFS_S3_PORT")?.value)).toBe(s3GatewayDefaults.port);
    expect(env(c, "TRAINFS_S3_HOST")?.value).toBe("0.0.0.0");
    expect(c.ports!.map((p) => p.name)).toContain(service.spec.ports[0].targetPort);
    const namenode = find("Service", "trainfs-namenode");
    expect(env(c, "TRAINFS_S3_NAMENODE")?.value).toBe(`http://${namenode.metadata.name}:${namenode.spec.ports[0].port}`);
    const secret = find("Secret", "trainfs");
    for (const name of ["TRAINFS_S3_TOKEN", "TRAINFS_S3_CREDENTIALS"]) {
      const ref = env(c, name)?.valueFrom?.secretKeyRef;
      expect(ref?.name, name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData!)).toContain(ref!.key);
    }
    expect(c.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(c.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(deployment.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
  });

  it("sets only environment variables the processes read", () => {
    const namenode = container(find("StatefulSet", "trainfs-namenode"));
    const datanode = container(find("StatefulSet", "trainfs-datanode"));
    const gateway = container(find("Deployment", "trainfs-s3-gateway"));
    expect(unknownConfigEnv("namenode", namenode.env!.map((e) => e.name))).toEqual([]);
    expect(unknownConfigEnv("datanode", datanode.env!.map((e) => e.name))).toEqual([]);
    expect(unknownConfigEnv("s3-gateway", gateway.env!.map((e) => e.name))).toEqual([]);
    expect(unknownConfigEnv("datanode", ["TRAINFS_DATANODE_ADVERTISE_ADRESS"])).toEqual(["TRAINFS_DATANODE_ADVERTISE_ADRESS"]);
  });

  it("sets values the processes accept, and defaults it claims are the schemas' defaults", () => {
    const claims = new Set(manifestFiles.flatMap((file) => [...defaultClaims(readFileSync(file, "utf8"))]));
    const settings = (c: Container) => c.env!.map((e) => ({ name: e.name, value: e.value, claimsDefault: claims.has(e.name) }));
    expect(deployedSettingProblems("namenode", settings(container(find("StatefulSet", "trainfs-namenode"))))).toEqual([]);
    expect(deployedSettingProblems("datanode", settings(container(find("StatefulSet", "trainfs-datanode"))))).toEqual([]);
    expect(deployedSettingProblems("s3-gateway", settings(container(find("Deployment", "trainfs-s3-gateway"))))).toEqual([]);
  });

  it("runs both as a non-root user that owns the volume", () => {
    for (const name of ["trainfs-namenode", "trainfs-datanode"]) {
      const pod = find("StatefulSet", name).spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
    }
  });
});
