import * as models from "kubernetes-models";

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: object) => Validatable;

/**
 * Checks a Kubernetes object against the API's JSON schema for its apiVersion
 * and kind, as bundled (precompiled) in the npm package kubernetes-models:
 * types, required fields, enums, formats. Offline; no cluster needed.
 * Throws with the schema's message when the object does not conform.
 */
export function validateKubernetesObject(object: unknown): void {
  if (object === null || typeof object !== "object") throw new Error("a Kubernetes object must be a mapping");
  const { apiVersion, kind } = object as { apiVersion?: unknown; kind?: unknown };
  if (typeof apiVersion !== "string" || typeof kind !== "string") throw new Error("apiVersion and kind are required");
  const Model = modelClass(apiVersion, kind);
  if (!Model) throw new Error(`no schema for ${apiVersion} ${kind}`);
  new Model(object).validate();
}

function modelClass(apiVersion: string, kind: string): ModelClass | undefined {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/", 2) : ["", apiVersion];
  // kubernetes-models names group modules in camelCase: "rbac.authorization.k8s.io" is rbacAuthorizationK8sIo.
  const groupModule = group === "" ? models : (models as Record<string, unknown>)[camelCase(group!)];
  const versionModule = (groupModule as Record<string, unknown> | undefined)?.[version!];
  const Model = (versionModule as Record<string, unknown> | undefined)?.[kind];
  return typeof Model === "function" ? (Model as ModelClass) : undefined;
}

function camelCase(group: string): string {
  return group.split(".").map((part, i) => (i === 0 ? part : part[0]!.toUpperCase() + part.slice(1))).join("");
}
