import { createHash } from "node:crypto";
import fs from "node:fs";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { configSchema, type PqlConfig } from "./schema.ts";

export interface LoadedConfig {
  config: PqlConfig;
  /** Content hash of the validated config: stored with every score it produces. */
  version: string;
  path: string;
}

export type ConfigCheck =
  | { ok: true; path: string; version: string; config: PqlConfig }
  | { ok: false; path: string; problems: string[] };

/** Reads and validates a config file, reporting every problem at once (never only the first). */
export function checkConfigFile(file: string): ConfigCheck {
  let source: string;
  try {
    source = fs.readFileSync(file, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
    return { ok: false, path: file, problems: [`${file}: ${reason}`] };
  }
  return checkConfigText(source, file);
}

export function checkConfigText(source: string, file = "<config>"): ConfigCheck {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => {
      const at = lineCounter.linePos(error.pos[0]);
      return `line ${at.line}, column ${at.col}: YAML syntax error: ${firstLine(error.message)}`;
    });
    return { ok: false, path: file, problems };
  }
  const data: unknown = doc.toJS();
  const parsed = configSchema.safeParse(data ?? {});
  if (parsed.success) {
    return { ok: true, path: file, version: configVersion(parsed.data), config: parsed.data };
  }
  const problems = parsed.error.issues.flatMap((issue) =>
    describeIssue(issue, data, (path) => locate(doc.contents, path, lineCounter)),
  );
  return { ok: false, path: file, problems };
}

/** Loads a config or throws a ConfigError listing every problem. */
export function loadConfig(file: string): LoadedConfig {
  const result = checkConfigFile(file);
  if (!result.ok) throw new ConfigError(file, result.problems);
  return { config: result.config, version: result.version, path: file };
}

/** The config's version: a hash of its validated content, so comments and layout do not change it. */
export function configVersion(config: PqlConfig): string {
  return createHash("sha256").update(stableJson(config)).digest("hex").slice(0, 12);
}

/** The JSON Schema editors use to autocomplete and check the file, generated from the zod schema. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }),
    title: "pql-router configuration",
    description:
      "The RevOps config file of pql-router: signals, personas, milestones, ICP, tiers, PQR, routing.",
  };
}

type PathKey = PropertyKey;

function describeIssue(issue: z.core.$ZodIssue, data: unknown, where: (path: PathKey[]) => string): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) => {
      const path = [...issue.path, k];
      return `${formatPath(path)}: unknown key${where(path)}`;
    });
  }
  const value = issue.input !== undefined ? issue.input : valueAt(data, issue.path);
  const path = formatPath(issue.path);
  const expected =
    issue.code === "invalid_type" && issue.message.startsWith("Invalid input")
      ? `expected ${issue.expected}`
      : issue.message;
  if (value === undefined && issue.code === "invalid_type") {
    return [`${path || "(top level)"}: missing, ${expected}${where(issue.path)}`];
  }
  const message = expected;
  const got = formatValue(value);
  return [`${path || "(top level)"}: ${message}, got ${got}${where(issue.path)}`];
}

/** `routing.pools[1].capacity` */
export function formatPath(path: readonly PathKey[]): string {
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
    .join("");
}

function valueAt(data: unknown, path: readonly PathKey[]): unknown {
  let current = data;
  for (const part of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

function formatValue(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/** " (line L, column C)" of the deepest node the path reaches, or "" when it cannot be placed. */
function locate(root: unknown, path: readonly PathKey[], lines: LineCounter): string {
  let node = root as Node | null | undefined;
  let placed = node;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === part);
      if (!pair) break;
      node = pair.value as Node | null;
      placed = (node ?? pair.key) as Node;
    } else if (isSeq(node) && typeof part === "number") {
      node = node.items[part] as Node | undefined;
      if (!node) break;
      placed = node;
    } else break;
  }
  const offset = placed?.range?.[0];
  if (offset === undefined) return "";
  const at = lines.linePos(offset);
  return ` (line ${at.line}, column ${at.col})`;
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
