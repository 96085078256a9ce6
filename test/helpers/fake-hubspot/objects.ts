import { type AssociationSpec, associate, checkAssociation, parseSpecs } from "./associations.ts";
import {
  apiError,
  badJson,
  batchReply,
  type PropertyProblem,
  propertyValuesError,
  type RecordError,
  type Reply,
  recordPropertyError,
  validationError,
} from "./errors.ts";
import { checkValue, type ObjectType, TYPE_LABELS } from "./schema.ts";
import {
  batchInputs,
  type Obj,
  object,
  onlyKeys,
  optArray,
  optString,
  optStringArray,
  propertiesMap,
  reqId,
  type Scalar,
} from "./shape.ts";
import type { AssociationTarget, CrmRecord, CrmState, PropertyValues } from "./state.ts";

/** Shared by the object endpoints: the state, the clock, and how long new records stay out of search. */
export interface ObjectContext {
  state: CrmState;
  type: ObjectType;
  now: () => string;
  nowMs: () => number;
  searchIndexLagMs: number;
}

type Context = Record<string, string[]>;

interface CreateAssociation {
  toId: string;
  specs: AssociationSpec[];
}

const notFoundMessage = (type: ObjectType) =>
  `Could not get some ${TYPE_LABELS[type]} objects, they may be deleted or not exist. Check that ids are valid.`;

// ---------------------------------------------------------------------------------------------
// Validation shared by every write path

/** An unknown property name anywhere fails the whole request, as in HubSpot. */
function rejectUnknownProperties(ctx: ObjectContext, all: Record<string, Scalar>[]): void {
  const defs = ctx.state.definitions(ctx.type);
  const unknown = new Set<string>();
  for (const props of all) for (const name of Object.keys(props)) if (!defs.has(name)) unknown.add(name);
  if (unknown.size === 0) return;
  throw propertyValuesError(
    [...unknown].map((name) => ({
      name,
      code: "PROPERTY_DOESNT_EXIST",
      message: `Property "${name}" does not exist`,
    })),
  );
}

/** idProperty must be a unique-value property (hs_object_id is the default and always allowed). */
function checkIdProperty(ctx: ObjectContext, idProperty: string | undefined): void {
  if (idProperty === undefined || idProperty === "hs_object_id") return;
  const d = ctx.state.definitions(ctx.type).get(idProperty);
  if (!d) throw validationError(`Property "${idProperty}" does not exist`);
  if (!d.hasUniqueValue) throw validationError(`${idProperty} is not a unique property`);
}

function rejectDuplicateIds(inputs: { id: string; idProperty: string | undefined }[]): void {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const { id, idProperty } of inputs) {
    const key = `${idProperty ?? "hs_object_id"}\u0000${id}`;
    if (seen.has(key)) duplicates.add(id);
    seen.add(key);
  }
  if (duplicates.size > 0)
    throw validationError(`Duplicate IDs found in batch input: [${[...duplicates].join(", ")}]`);
}

/**
 * Per-record checks: value formats, required properties, unique values. Returns the values to
 * store, or the record's error.
 */
function prepare(
  ctx: ObjectContext,
  props: Record<string, Scalar>,
  self: CrmRecord | undefined,
  context: Context,
): { values: PropertyValues } | { error: RecordError } {
  const { state, type } = ctx;
  const defs = state.definitions(type);
  const problems: PropertyProblem[] = [];
  const values: PropertyValues = {};
  for (const [name, raw] of Object.entries(props)) {
    const d = defs.get(name);
    if (!d) continue; // rejected earlier
    const check = checkValue(d, raw, (id) => state.isActiveOwner(id));
    if (check.ok) values[name] = check.value;
    else problems.push(check.problem);
  }
  if (
    !self &&
    type === "tasks" &&
    (values.hs_timestamp ?? null) === null &&
    !problems.some((p) => p.name === "hs_timestamp")
  )
    problems.push({
      name: "hs_timestamp",
      code: "REQUIRED_PROPERTY",
      message: 'Property "hs_timestamp" is required',
    });
  if (problems.length > 0) return { error: recordPropertyError(problems, context) };
  for (const [name, value] of Object.entries(values)) {
    if (value === null || !defs.get(name)?.hasUniqueValue) continue;
    const other = state.holderOf(type, name, value);
    if (other && other.id !== self?.id) {
      return {
        error: {
          category: "CONFLICT",
          message: `${TYPE_LABELS[type]} ${other.id} already has that value. (property "${name}" is unique; value ${JSON.stringify(value)})`,
          context: { ...context, id: [other.id], propertyName: [name] },
        },
      };
    }
  }
  return { values };
}

function apply(ctx: ObjectContext, record: CrmRecord, values: PropertyValues): void {
  Object.assign(record.properties, values);
  record.updatedAt = ctx.now();
  ctx.state.noteWrite(ctx.type, record);
}

function traceContext(trace: string | undefined, ids?: string[]): Context {
  const context: Context = {};
  if (ids) context.ids = ids;
  if (trace !== undefined) context.objectWriteTraceId = [trace];
  return context;
}

// ---------------------------------------------------------------------------------------------
// Create

function parseCreateAssociations(raw: unknown, where: string): CreateAssociation[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw badJson(`${where}.associations must be an array`);
  return raw.map((item, i) => {
    const at = `${where}.associations[${i}]`;
    const o = object(item, at);
    onlyKeys(o, ["to", "types"], at);
    const to = object(o.to, `${at}.to`);
    onlyKeys(to, ["id"], `${at}.to`);
    return { toId: reqId(to, "id", `${at}.to`), specs: parseSpecs(o.types, at) };
  });
}

interface CreateInput {
  properties: Record<string, Scalar>;
  associations: CreateAssociation[];
  trace: string | undefined;
}

function createAll(ctx: ObjectContext, inputs: CreateInput[]): { results: unknown[]; errors: RecordError[] } {
  rejectUnknownProperties(
    ctx,
    inputs.map((i) => i.properties),
  );
  const results: unknown[] = [];
  const errors: RecordError[] = [];
  for (const input of inputs) {
    const context = traceContext(input.trace);
    const prepared = prepare(ctx, input.properties, undefined, context);
    if ("error" in prepared) {
      errors.push(prepared.error);
      continue;
    }
    const targets: { to: AssociationTarget; toId: string; specs: AssociationSpec[] }[] = [];
    let failed: RecordError | undefined;
    for (const a of input.associations) {
      const check = checkAssociation(ctx.state, ctx.type, undefined, a.toId, a.specs, context);
      if ("error" in check) {
        failed = check.error;
        break;
      }
      targets.push({ to: check.to, toId: a.toId, specs: a.specs });
    }
    if (failed) {
      errors.push(failed);
      continue;
    }
    const record = ctx.state.insert(ctx.type, prepared.values);
    for (const t of targets) associate(ctx.state, ctx.type, record.id, t.to, t.toId, t.specs);
    results.push(ctx.state.render(ctx.type, record, "all"));
  }
  return { results, errors };
}

function parseCreateInput(input: Obj, where: string, batch: boolean): CreateInput {
  onlyKeys(
    input,
    batch ? ["properties", "associations", "objectWriteTraceId"] : ["properties", "associations"],
    where,
  );
  return {
    properties: propertiesMap(input, where),
    associations: parseCreateAssociations(input.associations, where),
    trace: optString(input, "objectWriteTraceId", where),
  };
}

/** POST /crm/v3/objects/{type}/batch/create -> 201 | 207 | 400 | 409 */
export function batchCreate(ctx: ObjectContext, body: unknown): Reply {
  const startedAt = ctx.now();
  const { inputs } = batchInputs(body, ["inputs"]);
  const parsed = inputs.map((input, i) => parseCreateInput(input, `inputs[${i}]`, true));
  const { results, errors } = createAll(ctx, parsed);
  return batchReply(201, results, errors, startedAt, { wholeFailure: true, completedAt: ctx.now() });
}

/** POST /crm/v3/objects/{type} -> 201 SimplePublicObject */
export function createOne(ctx: ObjectContext, body: unknown): Reply {
  const input = parseCreateInput(object(body, "request body"), "request body", false);
  const { results, errors } = createAll(ctx, [input]);
  if (errors.length > 0)
    return batchReply(201, [], errors, ctx.now(), { wholeFailure: true, completedAt: ctx.now() });
  return { status: 201, body: results[0] };
}

// ---------------------------------------------------------------------------------------------
// Update and upsert

interface UpdateInput {
  id: string;
  idProperty: string | undefined;
  properties: Record<string, Scalar>;
  trace: string | undefined;
}

function parseUpdateInputs(ctx: ObjectContext, body: unknown, upsert: boolean): UpdateInput[] {
  const { inputs } = batchInputs(body, ["inputs"]);
  const parsed = inputs.map((input, i) => {
    const where = `inputs[${i}]`;
    onlyKeys(input, ["id", "idProperty", "properties", "objectWriteTraceId"], where);
    const idProperty = optString(input, "idProperty", where);
    if (upsert && (idProperty === undefined || idProperty === "hs_object_id"))
      throw validationError(`${where}: upsert needs idProperty naming a unique-value property`);
    checkIdProperty(ctx, idProperty);
    return {
      id: reqId(input, "id", where),
      idProperty,
      properties: propertiesMap(input, where),
      trace: optString(input, "objectWriteTraceId", where),
    };
  });
  rejectDuplicateIds(parsed);
  rejectUnknownProperties(
    ctx,
    parsed.map((p) => p.properties),
  );
  return parsed;
}

/** POST /crm/v3/objects/{type}/batch/update -> 200 | 207 | 400 | 409 */
export function batchUpdate(ctx: ObjectContext, body: unknown): Reply {
  const startedAt = ctx.now();
  const results: unknown[] = [];
  const errors: RecordError[] = [];
  for (const input of parseUpdateInputs(ctx, body, false)) {
    const context = traceContext(input.trace, [input.id]);
    const record = ctx.state.findBy(ctx.type, input.id, input.idProperty);
    if (!record) {
      errors.push({ category: "OBJECT_NOT_FOUND", message: notFoundMessage(ctx.type), context });
      continue;
    }
    const prepared = prepare(ctx, input.properties, record, context);
    if ("error" in prepared) {
      errors.push(prepared.error);
      continue;
    }
    apply(ctx, record, prepared.values);
    results.push(ctx.state.render(ctx.type, record, "all"));
  }
  return batchReply(200, results, errors, startedAt, { wholeFailure: true, completedAt: ctx.now() });
}

/** POST /crm/v3/objects/{type}/batch/upsert -> 200 | 207 | 400 | 409; results carry `new`. */
export function batchUpsert(ctx: ObjectContext, body: unknown): Reply {
  const startedAt = ctx.now();
  const results: unknown[] = [];
  const errors: RecordError[] = [];
  for (const input of parseUpdateInputs(ctx, body, true)) {
    const idProperty = input.idProperty ?? "hs_object_id";
    const context = traceContext(input.trace, [input.id]);
    const existing = ctx.state.findBy(ctx.type, input.id, idProperty);
    const props = existing ? input.properties : { ...input.properties, [idProperty]: input.id };
    const prepared = prepare(ctx, props, existing, context);
    if ("error" in prepared) {
      errors.push(prepared.error);
      continue;
    }
    let record: CrmRecord;
    if (existing) {
      apply(ctx, existing, prepared.values);
      record = existing;
    } else {
      record = ctx.state.insert(ctx.type, prepared.values);
    }
    results.push({ ...ctx.state.render(ctx.type, record, "all"), new: !existing });
  }
  return batchReply(200, results, errors, startedAt, { wholeFailure: true, completedAt: ctx.now() });
}

/** PATCH /crm/v3/objects/{type}/{id}?idProperty= -> 200 | 404 | 400 | 409 */
export function updateOne(
  ctx: ObjectContext,
  id: string,
  query: Record<string, string>,
  body: unknown,
): Reply {
  const o = object(body, "request body");
  onlyKeys(o, ["properties", "objectWriteTraceId"], "request body");
  const props = propertiesMap(o, "request body");
  checkIdProperty(ctx, query.idProperty);
  rejectUnknownProperties(ctx, [props]);
  const record = ctx.state.findBy(ctx.type, id, query.idProperty);
  if (!record)
    throw apiError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.", {
      context: { id: [id] },
    });
  const prepared = prepare(ctx, props, record, { ids: [id] });
  if ("error" in prepared)
    return batchReply(200, [], [prepared.error], ctx.now(), { wholeFailure: true, completedAt: ctx.now() });
  apply(ctx, record, prepared.values);
  return { status: 200, body: ctx.state.render(ctx.type, record, "all") };
}

// ---------------------------------------------------------------------------------------------
// Reads

/** POST /crm/v3/objects/{type}/batch/read -> 200, or 207 with one OBJECT_NOT_FOUND error listing missing ids. */
export function batchRead(ctx: ObjectContext, body: unknown): Reply {
  const startedAt = ctx.now();
  const { top, inputs } = batchInputs(body, [
    "inputs",
    "properties",
    "propertiesWithHistory",
    "idProperty",
    "archived",
  ]);
  const properties = optStringArray(top, "properties", "request body");
  optStringArray(top, "propertiesWithHistory", "request body");
  const idProperty = optString(top, "idProperty", "request body");
  checkIdProperty(ctx, idProperty);
  const results: unknown[] = [];
  const seen = new Set<string>();
  const missing: string[] = [];
  inputs.forEach((input, i) => {
    onlyKeys(input, ["id"], `inputs[${i}]`);
    const id = reqId(input, "id", `inputs[${i}]`);
    const record = ctx.state.findBy(ctx.type, id, idProperty);
    if (!record) missing.push(id);
    else if (!seen.has(record.id)) {
      seen.add(record.id);
      results.push(ctx.state.render(ctx.type, record, properties));
    }
  });
  const errors: RecordError[] =
    missing.length === 0
      ? []
      : [{ category: "OBJECT_NOT_FOUND", message: notFoundMessage(ctx.type), context: { ids: missing } }];
  return batchReply(200, results, errors, startedAt, { wholeFailure: false, completedAt: ctx.now() });
}

/** GET /crm/v3/objects/{type}/{id}?properties=a,b&idProperty=x */
export function getOne(ctx: ObjectContext, id: string, query: Record<string, string>): Reply {
  checkIdProperty(ctx, query.idProperty);
  const record = ctx.state.findBy(ctx.type, id, query.idProperty);
  if (!record)
    throw apiError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.", {
      context: { id: [id] },
    });
  const properties = query.properties === undefined ? undefined : query.properties.split(",").filter(Boolean);
  return { status: 200, body: ctx.state.render(ctx.type, record, properties) };
}

// ---------------------------------------------------------------------------------------------
// Search

const OPERATORS = ["EQ", "NEQ", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"];
const HUBSPOT_ONLY_OPERATORS = ["LT", "LTE", "GT", "GTE", "BETWEEN", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"];
const MAX_RESULTS = 10_000;

interface Filter {
  propertyName: string;
  operator: string;
  value?: string;
  values?: string[];
}

interface Sort {
  propertyName: string;
  descending: boolean;
}

function scalarString(value: unknown, where: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw badJson(`${where} must be a string`);
}

function parseFilter(ctx: ObjectContext, raw: unknown, where: string): Filter {
  const o = object(raw, where);
  onlyKeys(o, ["propertyName", "operator", "value", "values", "highValue"], where);
  const propertyName = o.propertyName;
  const operator = o.operator;
  if (typeof propertyName !== "string") throw badJson(`${where}.propertyName is required`);
  if (typeof operator !== "string") throw badJson(`${where}.operator is required`);
  const d = ctx.state.definitions(ctx.type).get(propertyName);
  if (!d) throw validationError(`${where}: property "${propertyName}" does not exist on ${ctx.type}`);
  if (HUBSPOT_ONLY_OPERATORS.includes(operator))
    throw validationError(`${where}: operator ${operator} is not supported by the fake HubSpot`);
  if (!OPERATORS.includes(operator)) throw badJson(`${where}.operator: unknown operator "${operator}"`);
  const filter: Filter = { propertyName, operator };
  if (operator === "EQ" || operator === "NEQ") {
    if (o.value === undefined || o.value === null)
      throw validationError(`${where}: operator ${operator} needs a value`);
    filter.value = scalarString(o.value, `${where}.value`);
  } else if (operator === "IN" || operator === "NOT_IN") {
    if (!Array.isArray(o.values) || o.values.length === 0)
      throw validationError(`${where}: operator ${operator} needs a non-empty values array`);
    if (o.values.length > 100)
      throw validationError(`${where}: at most 100 values are allowed for ${operator}`);
    filter.values = o.values.map((v, i) => scalarString(v, `${where}.values[${i}]`));
    const upper = filter.values.find((v) => v !== v.toLowerCase());
    if (d.type === "string" && upper !== undefined)
      throw validationError(
        `${where}: values for ${operator} on string property "${propertyName}" must be lowercase (got ${JSON.stringify(upper)})`,
      );
  }
  return filter;
}

function parseSorts(raw: unknown[] | undefined): Sort[] {
  if (!raw || raw.length === 0) return [];
  if (raw.length > 1) throw validationError("Only one sort is allowed");
  return raw.map((s, i) => {
    if (typeof s === "string") return { propertyName: s.replace(/^-/, ""), descending: s.startsWith("-") };
    const o = object(s, `sorts[${i}]`);
    onlyKeys(o, ["propertyName", "direction"], `sorts[${i}]`);
    const propertyName = optString(o, "propertyName", `sorts[${i}]`);
    const direction = optString(o, "direction", `sorts[${i}]`) ?? "ASCENDING";
    if (!propertyName) throw badJson(`sorts[${i}].propertyName is required`);
    if (direction !== "ASCENDING" && direction !== "DESCENDING")
      throw badJson(`sorts[${i}].direction must be ASCENDING or DESCENDING`);
    return { propertyName, descending: direction === "DESCENDING" };
  });
}

function pagingNumber(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0)
    throw validationError(`${name} must be a non-negative integer${name === "after" ? " paging token" : ""}`);
  return n;
}

function comparable(ctx: ObjectContext, name: string, value: string): string | number {
  const d = ctx.state.definitions(ctx.type).get(name);
  if (d?.type === "number") return Number(value);
  if (d?.type === "datetime" || d?.type === "date")
    return /^-?\d+$/.test(value) ? Number(value) : Date.parse(value);
  return value.toLowerCase();
}

function matches(ctx: ObjectContext, record: CrmRecord, f: Filter): boolean {
  const actual = ctx.state.readProp(ctx.type, record, f.propertyName);
  const has = actual !== null && actual !== "";
  const eq = (expected: string) =>
    has && comparable(ctx, f.propertyName, actual) === comparable(ctx, f.propertyName, expected);
  switch (f.operator) {
    case "EQ":
      return eq(f.value ?? "");
    case "NEQ":
      return !eq(f.value ?? "");
    case "IN":
      return (f.values ?? []).some(eq);
    case "NOT_IN":
      return !(f.values ?? []).some(eq);
    case "HAS_PROPERTY":
      return has;
    default:
      return !has;
  }
}

function byId(a: CrmRecord, b: CrmRecord): number {
  return a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** POST /crm/v3/objects/{type}/search */
export function search(ctx: ObjectContext, body: unknown): Reply {
  const where = "request body";
  const o = object(body, where);
  onlyKeys(o, ["filterGroups", "properties", "limit", "after", "sorts", "query"], where);
  const groups = optArray(o, "filterGroups", where) ?? [];
  if (groups.length > 5) throw validationError("Too many filter groups: at most 5 filterGroups are allowed");
  let total = 0;
  const parsedGroups = groups.map((g, i) => {
    const group = object(g, `filterGroups[${i}]`);
    onlyKeys(group, ["filters"], `filterGroups[${i}]`);
    const filters = optArray(group, "filters", `filterGroups[${i}]`) ?? [];
    if (filters.length > 6)
      throw validationError(`filterGroups[${i}] has ${filters.length} filters; at most 6 are allowed`);
    total += filters.length;
    return filters.map((f, j) => parseFilter(ctx, f, `filterGroups[${i}].filters[${j}]`));
  });
  if (total > 18) throw validationError(`${total} filters in total; at most 18 are allowed`);
  const properties = optStringArray(o, "properties", where);
  const sorts = parseSorts(optArray(o, "sorts", where));
  const text = optString(o, "query", where)?.toLowerCase();
  const limit = pagingNumber(o.limit, "limit") ?? 10;
  if (limit < 1 || limit > 200) throw validationError(`limit must be between 1 and 200 (got ${limit})`);
  const after = pagingNumber(o.after, "after") ?? 0;
  if (after + limit > MAX_RESULTS)
    throw validationError(
      `Search results are limited to ${MAX_RESULTS} records; after + limit must not exceed it`,
    );

  const cutoff = ctx.nowMs() - ctx.searchIndexLagMs;
  const hits = [...ctx.state.records(ctx.type).values()].filter((record) => {
    if (ctx.searchIndexLagMs > 0 && Date.parse(record.createdAt ?? "1970-01-01T00:00:00Z") > cutoff)
      return false;
    if (text && !Object.values(record.properties).some((v) => v?.toLowerCase().includes(text))) return false;
    return (
      parsedGroups.length === 0 ||
      parsedGroups.some((filters) => filters.every((f) => matches(ctx, record, f)))
    );
  });
  hits.sort(byId);
  const sort = sorts[0];
  if (sort) {
    const key = (r: CrmRecord) => {
      const v = ctx.state.readProp(ctx.type, r, sort.propertyName);
      return v === null ? null : comparable(ctx, sort.propertyName, v);
    };
    hits.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka === kb) return 0;
      if (ka === null) return 1;
      if (kb === null) return -1;
      return (ka < kb ? -1 : 1) * (sort.descending ? -1 : 1);
    });
  }
  const page = hits.slice(after, after + limit);
  const out: Obj = {
    total: hits.length,
    results: page.map((r) => ctx.state.render(ctx.type, r, properties)),
  };
  if (after + limit < hits.length) out.paging = { next: { after: String(after + limit) } };
  return { status: 200, body: out };
}
