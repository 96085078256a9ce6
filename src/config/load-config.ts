import { createHash } from "node:crypto";
import fs from "node:fs";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, visit, type YAMLMap } from "yaml";
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

/** Largest config file read: real ones are a few KB; a larger one is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Longest string (value or key) in a config file. */
export const MAX_CONFIG_STRING = 2_000;

/** Reads and validates a config file, reporting every problem at once (never only the first). */
export function checkConfigFile(file: string): ConfigCheck {
  let source: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_CONFIG_BYTES) return { ok: false, path: file, problems: [tooLarge(file, size)] };
    source = fs.readFileSync(file, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
    return { ok: false, path: file, problems: [`${file}: ${reason}`] };
  }
  return checkConfigText(source, file);
}

/**
 * Validates config text. Linear in its size: the YAML library's own duplicate-key check compares
 * each key with every earlier one (quadratic: 64k keys took minutes), so keys are checked here
 * with a set per map, and problems are placed through an index per map.
 */
export function checkConfigText(source: string, file = "<config>"): ConfigCheck {
  const bytes = Buffer.byteLength(source);
  if (bytes > MAX_CONFIG_BYTES) return { ok: false, path: file, problems: [tooLarge(file, bytes)] };
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const syntax = (offset: number, message: string) => {
    const at = lineCounter.linePos(offset);
    return `line ${at.line}, column ${at.col}: YAML syntax error: ${message}`;
  };
  const syntaxProblems = doc.errors.map((error) => syntax(error.pos[0], firstLine(error.message)));
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value))
          syntaxProblems.push(syntax(pair.key.range?.[0] ?? 0, "Map keys must be unique"));
        seen.add(pair.key.value);
      }
    },
  });
  if (syntaxProblems.length > 0) return { ok: false, path: file, problems: syntaxProblems };
  const data: unknown = doc.toJS();
  const where = (path: PathKey[]) => locate(doc.contents, path, lineCounter);
  const problems = longStrings(data, where);
  const parsed = configSchema.safeParse(data ?? {});
  if (parsed.success && problems.length === 0) {
    return { ok: true, path: file, version: configVersion(parsed.data), config: parsed.data };
  }
  if (!parsed.success)
    problems.push(...parsed.error.issues.flatMap((issue) => describeIssue(issue, data, where)));
  return { ok: false, path: file, problems };
}

function tooLarge(file: string, bytes: number): string {
  const n = (value: number) => value.toLocaleString("en-US");
  return `${file}: ${n(bytes)} bytes, over the ${n(MAX_CONFIG_BYTES)}-byte (1 MB) limit for a config file`;
}

/** A problem for each string (key or value) over MAX_CONFIG_STRING characters. */
function longStrings(data: unknown, where: (path: PathKey[]) => string): string[] {
  const problems: string[] = [];
  const tooLong = (path: PathKey[], what: string, length: number, at: PathKey[] = path) =>
    problems.push(
      `${formatPath(path) || "(top level)"}: ${what} of ${length.toLocaleString("en-US")} characters, over the ${MAX_CONFIG_STRING.toLocaleString("en-US")}-character limit${where(at)}`,
    );
  const stack: { value: unknown; path: PathKey[] }[] = [{ value: data, path: [] }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, path } = item;
    if (typeof value === "string") {
      if (value.length > MAX_CONFIG_STRING) tooLong(path, "a string", value.length);
    } else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) stack.push({ value: v, path: [...path, i] });
    } else if (value !== null && typeof value === "object") {
      for (const [key, v] of Object.entries(value)) {
        if (key.length > MAX_CONFIG_STRING) {
          tooLong(path, "a key", key.length, [...path, key]);
          continue;
        }
        stack.push({ value: v, path: [...path, key] });
      }
    }
  }
  return problems;
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

/** `routing.pools[1].capacity` (a long key shortened). */
export function formatPath(path: readonly PathKey[]): string {
  const key = (part: PropertyKey) => {
    const text = String(part);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  };
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? key(part) : `.${key(part)}`))
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

/** Each map's pairs by scalar key, built once per map (a scan per lookup is quadratic in keys). */
const pairIndexes = new WeakMap<YAMLMap, Map<unknown, YAMLMap["items"][number]>>();

function pairOf(map: YAMLMap, key: PropertyKey) {
  let index = pairIndexes.get(map);
  if (!index) {
    index = new Map();
    for (const item of map.items) if (isScalar(item.key)) index.set(item.key.value, item);
    pairIndexes.set(map, index);
  }
  return index.get(key);
}

/** " (line L, column C)" of the deepest node the path reaches, or "" when it cannot be placed. */
function locate(root: unknown, path: readonly PathKey[], lines: LineCounter): string {
  let node = root as Node | null | undefined;
  let placed = node;
  for (const part of path) {
    if (isMap(node)) {
      const pair = pairOf(node, part);
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
