import { describe, expect, it } from "vitest";
import { z } from "zod";
import { configFields } from "./config.js";
import { describeSettings, replaceGenerated, settingDefaults, settingOptions, settingsTable } from "./settings.js";

const schema = z
  .object({
    dataDir: z.string().min(1).default("data").meta({ description: "where `data` goes", placeholder: "<dir>" }),
    chunkSize: configFields.size().default(64 * 1024 * 1024).describe("chunk size"),
    leaseMs: configFields.milliseconds().default(600_000).describe("lease | length"),
    replicas: z.coerce.number().int().default(3).meta({ description: "copies", details: "At most 16." }),
    share: z.coerce.number().default(0.5).describe("a fraction"),
    policy: z.enum(["zone-aware", "available-space"]).default("zone-aware").describe("placement"),
    capacity: configFields.size().optional().meta({ description: "space offered", defaultText: "the disk's" }),
    origins: configFields.origins().default([]).describe("allowed origins"),
    zone: z.string().default("").describe("failure domain"),
  })
  .meta({ renamed: { oldMs: "leaseMs" } });

describe("describeSettings", () => {
  it("derives flags, environment names, placeholders and defaults from the schema", () => {
    const byKey = Object.fromEntries(describeSettings(schema, "T_").map((s) => [s.key, s]));
    expect(byKey.dataDir).toMatchObject({ flag: "--data-dir", env: "T_DATA_DIR", placeholder: "<dir>", defaultDoc: "`data`", defaultHelp: "data" });
    expect(byKey.chunkSize).toMatchObject({ placeholder: "<size>", default: 64 * 1024 * 1024, defaultDoc: "`64MiB`", defaultHelp: "64MiB" });
    expect(byKey.leaseMs).toMatchObject({ placeholder: "<ms>", defaultDoc: "`600000` (10 min)" });
    expect(byKey.replicas).toMatchObject({ placeholder: "<n>", details: "At most 16." });
    expect(byKey.share).toMatchObject({ placeholder: "<number>", defaultHelp: "0.5" });
    expect(byKey.policy).toMatchObject({ placeholder: "<name>", choices: ["zone-aware", "available-space"] });
    expect(byKey.capacity).toMatchObject({ default: undefined, defaultDoc: "the disk's" });
    expect(byKey.origins).toMatchObject({ placeholder: "<list>", defaultDoc: undefined });
    expect(byKey.zone).toMatchObject({ default: "", defaultDoc: undefined });
  });

  it("gives the defaults as an object", () => {
    expect(settingDefaults(schema)).toMatchObject({ dataDir: "data", chunkSize: 64 * 1024 * 1024, leaseMs: 600_000 });
    expect(settingDefaults(schema).capacity).toBeUndefined();
  });
});

describe("settingOptions", () => {
  it("writes one option per setting, its default in the help only, and hides renamed flags", () => {
    const options = settingOptions(schema, "T_");
    expect(options[0]).toEqual({ flags: "--data-dir <dir>", description: "where data goes (default data)", hidden: false });
    expect(options.find((o) => o.flags.startsWith("--policy"))!.description).toBe("placement: zone-aware, available-space (default zone-aware)");
    expect(options.find((o) => o.flags.startsWith("--capacity"))!.description).toBe("space offered (default the disk's)");
    expect(options.find((o) => o.flags.startsWith("--zone"))!.description).toBe("failure domain");
    expect(options.at(-1)).toEqual({ flags: "--old-ms <value>", description: "renamed --lease-ms", hidden: true });
  });
});

describe("settingsTable", () => {
  it("renders a Markdown row per setting and a line per rename", () => {
    const table = settingsTable(schema, "T_").split("\n");
    expect(table[0]).toBe("| key | flag | environment | default | meaning |");
    expect(table).toContain("| `leaseMs` | `--lease-ms` | `T_LEASE_MS` | `600000` (10 min) | lease \\| length |");
    expect(table).toContain("| `replicas` | `--replicas` | `T_REPLICAS` | `3` | copies. At most 16. |");
    expect(table).toContain("| `policy` | `--policy` | `T_POLICY` | `zone-aware` | placement: `zone-aware`, `available-space` |");
    expect(table).toContain("| `origins` | `--origins` | `T_ORIGINS` | none | allowed origins |");
    expect(table.at(-1)).toMatch(/^`oldMs` was renamed `leaseMs`/);
  });

  it("refuses a setting without a description", () => {
    expect(() => settingsTable(z.object({ bare: z.string().default("x") }), "T_")).toThrow(/bare has no description/);
  });
});

describe("replaceGenerated", () => {
  it("replaces what lies between the markers, and insists on them", () => {
    const text = "a\n<!-- generated:x -->\nold\n<!-- end generated:x -->\nb\n";
    expect(replaceGenerated(text, "x", "new")).toBe("a\n<!-- generated:x -->\nnew\n<!-- end generated:x -->\nb\n");
    expect(() => replaceGenerated(text, "y", "new")).toThrow(/no "<!-- generated:y -->"/);
  });
});
