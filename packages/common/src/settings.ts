import { z } from "zod";
import { formatExactSize } from "@trainfs/core";

/**
 * A process's settings are declared once, as a zod object schema whose fields
 * carry their help in `.meta()` (or `.describe()`); the command-line flags,
 * their help, the environment names and the tables of docs/operations.md are
 * all derived from it here.
 */
export interface SettingMeta {
  /** One line for `--help` and the docs; Markdown backticks are dropped in help. */
  description?: string;
  /** More for the docs table only, as whole sentences. */
  details?: string;
  /** The flag's value placeholder, e.g. "<dir>"; configFields bring their own. */
  placeholder?: string;
  /** The default in words, when it is not a value (e.g. "the disk's"); Markdown. */
  defaultText?: string;
  /** How a default is written: sizes in binary units, durations with a gloss. */
  format?: "size" | "ms";
}

/** Meta of the object schema itself. */
export interface SettingsMeta {
  /** Old key → new key: an old key in any source is refused with an error naming the new one. */
  renamed?: Record<string, string>;
}

export interface Setting {
  key: string;
  /** `--data-dir` */
  flag: string;
  /** `TRAINFS_DATANODE_DATA_DIR` */
  env: string;
  placeholder: string;
  description: string;
  details: string | undefined;
  /** The allowed values of an enum. */
  choices: string[] | undefined;
  /** The schema's default (parsed), undefined when the setting is off unless set. */
  default: unknown;
  /** The default as the docs (Markdown) and the help (plain) write it; undefined: none. */
  defaultDoc: string | undefined;
  defaultHelp: string | undefined;
}

export function envName(prefix: string, key: string): string {
  return prefix + key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

export function flagName(key: string): string {
  return `--${key.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase()}`;
}

export function renamedSettings(schema: z.ZodObject): Record<string, string> {
  return (z.globalRegistry.get(schema) as SettingsMeta | undefined)?.renamed ?? {};
}

/** Every setting of a schema, in declaration order. */
export function describeSettings(schema: z.ZodObject, envPrefix: string): Setting[] {
  return Object.entries(schema.shape).map(([key, field]) => {
    const { meta, base } = unwrap(field as z.ZodType);
    const choices = base instanceof z.ZodEnum ? (base.options as string[]) : undefined;
    const placeholder =
      meta.placeholder ?? (choices ? "<name>" : base instanceof z.ZodNumber ? (base.isInt ? "<n>" : "<number>") : "<value>");
    const parsed = (field as z.ZodType).safeParse(undefined);
    const value = parsed.success ? parsed.data : undefined;
    return {
      key,
      flag: flagName(key),
      env: envName(envPrefix, key),
      placeholder,
      description: meta.description ?? "",
      details: meta.details,
      choices,
      default: value,
      ...renderDefault(value, meta),
    };
  });
}

/** Schema defaults of every setting (undefined for those off unless set). */
export function settingDefaults<T extends z.ZodObject>(schema: T): z.infer<T> {
  return schema.parse({}) as z.infer<T>;
}

export interface SettingOption {
  /** For commander: "--data-dir <dir>". */
  flags: string;
  description: string;
  /** Renamed keys' old flags: accepted only to be refused with a clear error. */
  hidden: boolean;
}

/**
 * The command-line options of a schema. Defaults appear in the help text only:
 * a flag the user did not set must not override the file or the environment.
 */
export function settingOptions(schema: z.ZodObject, envPrefix: string): SettingOption[] {
  const options = describeSettings(schema, envPrefix).map((s) => ({
    flags: `${s.flag} ${s.placeholder}`,
    description:
      plain(s.description) +
      (s.choices ? `: ${s.choices.join(", ")}` : "") +
      (s.defaultHelp !== undefined ? ` (default ${s.defaultHelp})` : ""),
    hidden: false,
  }));
  for (const [old, now] of Object.entries(renamedSettings(schema))) {
    options.push({ flags: `${flagName(old)} <value>`, description: `renamed ${flagName(now)}`, hidden: true });
  }
  return options;
}

/** The Markdown table of a schema's settings, for docs/operations.md. */
export function settingsTable(schema: z.ZodObject, envPrefix: string): string {
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  const rows = describeSettings(schema, envPrefix).map((s) => {
    // Checked here, where the docs are generated and tested, not at every start of a server.
    if (!s.description) throw new Error(`setting ${s.key} has no description (give it .meta({ description }))`);
    const choices = s.choices ? `: ${s.choices.map((c) => `\`${c}\``).join(", ")}` : "";
    const meaning = `${s.description}${choices}${s.details ? `. ${s.details}` : ""}`;
    return `| \`${s.key}\` | \`${s.flag}\` | \`${s.env}\` | ${s.defaultDoc ?? "none"} | ${cell(meaning)} |`;
  });
  const renamed = Object.entries(renamedSettings(schema)).map(
    ([old, now]) => `\`${old}\` was renamed \`${now}\`; the old name (key, \`${flagName(old)}\` or \`${envName(envPrefix, old)}\`) is refused with an error saying so.`,
  );
  return [
    "| key | flag | environment | default | meaning |",
    "|---|---|---|---|---|",
    ...rows,
    ...(renamed.length > 0 ? ["", ...renamed] : []),
  ].join("\n");
}

/**
 * Replaces what lies between `<!-- generated:NAME -->` and
 * `<!-- end generated:NAME -->` in `text` with `body`.
 */
export function replaceGenerated(text: string, name: string, body: string): string {
  const begin = `<!-- generated:${name} -->`;
  const end = `<!-- end generated:${name} -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no "${begin}" … "${end}" markers`);
  return `${text.slice(0, from + begin.length)}\n${body}\n${text.slice(to)}`;
}

/** Metadata from the outermost wrapper in (outer wins), and the base schema under defaults, optionals and pipes. */
function unwrap(field: z.ZodType): { meta: SettingMeta; base: z.ZodType } {
  const metas: SettingMeta[] = [];
  let s = field;
  for (;;) {
    const meta = z.globalRegistry.get(s);
    if (meta) metas.push(meta as SettingMeta);
    const def = s._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (def.innerType && ["default", "optional", "nullable", "prefault"].includes(def.type)) s = def.innerType;
    else if (def.type === "pipe" && def.in) s = def.in;
    else break;
  }
  return { meta: Object.assign({}, ...metas.reverse()) as SettingMeta, base: s };
}

function renderDefault(value: unknown, meta: SettingMeta): { defaultDoc: string | undefined; defaultHelp: string | undefined } {
  if (meta.defaultText !== undefined) return { defaultDoc: meta.defaultText, defaultHelp: plain(meta.defaultText) };
  if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) return { defaultDoc: undefined, defaultHelp: undefined };
  const text = meta.format === "size" && typeof value === "number" ? formatExactSize(value) : Array.isArray(value) ? value.join(",") : String(value);
  const gloss = meta.format === "ms" && typeof value === "number" ? durationGloss(value) : undefined;
  return { defaultDoc: `\`${text}\`${gloss ? ` (${gloss})` : ""}`, defaultHelp: `${text}${gloss ? ` = ${gloss}` : ""}` };
}

/** 1209600000 → "14 days", for durations of a minute or more in whole units. */
function durationGloss(ms: number): string | undefined {
  const units: Array<[number, string, string]> = [
    [86_400_000, "day", "days"],
    [3_600_000, "h", "h"],
    [60_000, "min", "min"],
  ];
  for (const [size, one, many] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${ms === size ? one : many}`;
  }
  return undefined;
}

function plain(markdown: string): string {
  return markdown.replace(/`/g, "");
}
