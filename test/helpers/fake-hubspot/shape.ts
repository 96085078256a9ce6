import { badJson, validationError } from "./errors.ts";

/** Strict readers for request bodies: anything off the documented shape is a 400 "Invalid input JSON". */

export type Obj = Record<string, unknown>;
export type Scalar = string | number | boolean | null;

export function isRecord(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function object(value: unknown, where: string): Obj {
  if (!isRecord(value)) throw badJson(`${where} must be a JSON object`);
  return value;
}

/** Rejects fields the documented input type does not have (catches typos such as `property`). */
export function onlyKeys(obj: Obj, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw badJson(`Unrecognized field "${key}" in ${where}`);
  }
}

export function reqString(obj: Obj, key: string, where: string): string {
  const value = obj[key];
  if (typeof value !== "string") throw badJson(`${where}.${key} is required and must be a string`);
  return value;
}

export function optString(obj: Obj, key: string, where: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw badJson(`${where}.${key} must be a string`);
  return value;
}

/** A string id; HubSpot also deserializes JSON numbers into string fields. */
export function reqId(obj: Obj, key: string, where: string): string {
  const value = obj[key];
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value !== "string" || value === "")
    throw badJson(`${where}.${key} is required and must be a string`);
  return value;
}

export function optInt(obj: Obj, key: string, where: string): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value))
    throw badJson(`${where}.${key} must be an integer`);
  return value;
}

export function optBoolean(obj: Obj, key: string, where: string): boolean | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw badJson(`${where}.${key} must be a boolean`);
  return value;
}

export function optStringArray(obj: Obj, key: string, where: string): string[] | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
    throw badJson(`${where}.${key} must be an array of strings`);
  return value;
}

export function optArray(obj: Obj, key: string, where: string): unknown[] | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw badJson(`${where}.${key} must be an array`);
  return value;
}

/** `properties`: an object of string/number/boolean/null values (HubSpot's Map<String,String>). */
export function propertiesMap(obj: Obj, where: string): Record<string, Scalar> {
  const value = obj.properties;
  if (!isRecord(value)) throw badJson(`${where}.properties is required and must be an object`);
  const out: Record<string, Scalar> = {};
  for (const [name, v] of Object.entries(value)) {
    if (v !== null && typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean")
      throw badJson(
        `${where}.properties.${name} must be a string (got ${Array.isArray(v) ? "array" : "object"})`,
      );
    out[name] = v;
  }
  return out;
}

export const BATCH_LIMIT = 100;

/** The `inputs` array of a batch body, 1..100 items, each an object. */
export function batchInputs(body: unknown, allowedTop: readonly string[]): { top: Obj; inputs: Obj[] } {
  const top = object(body, "request body");
  onlyKeys(top, allowedTop, "request body");
  const inputs = top.inputs;
  if (!Array.isArray(inputs))
    throw badJson("Cannot build batch input, some of required attributes are not set [inputs]");
  if (inputs.length > BATCH_LIMIT) throw validationError(`Batch input size limit of ${BATCH_LIMIT} exceeded`);
  if (inputs.length === 0) throw validationError("Batch input must contain at least 1 input");
  return { top, inputs: inputs.map((input, i) => object(input, `inputs[${i}]`)) };
}
