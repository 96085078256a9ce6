import {
  apiError,
  badJson,
  batchReply,
  notFound,
  type RecordError,
  type Reply,
  validationError,
} from "./errors.ts";
import { type ObjectType, objectTypeOf, TYPE_IDS } from "./schema.ts";
import { batchInputs, type Obj, object, onlyKeys, optString, reqId } from "./shape.ts";
import type { AssociationTarget, CrmRecord, CrmState } from "./state.ts";

/** The HUBSPOT_DEFINED association types the fake knows. */
interface AssociationRule {
  from: ObjectType;
  to: AssociationTarget;
  typeId: number;
  label: string | null;
}

const RULES: readonly AssociationRule[] = [
  { from: "tasks", to: "companies", typeId: 192, label: null },
  { from: "tasks", to: "contacts", typeId: 204, label: null },
  { from: "tasks", to: "deals", typeId: 216, label: null },
  { from: "deals", to: "companies", typeId: 5, label: "Primary" },
  { from: "deals", to: "companies", typeId: 341, label: null },
  { from: "companies", to: "deals", typeId: 6, label: "Primary" },
  { from: "companies", to: "deals", typeId: 342, label: null },
  { from: "companies", to: "tasks", typeId: 191, label: null },
];

export interface AssociationSpec {
  associationCategory: string;
  associationTypeId: number;
}

export interface AssociationTypeOut {
  category: string;
  typeId: number;
  label: string | null;
}

function targetOf(segment: string): AssociationTarget | undefined {
  const lower = segment.toLowerCase();
  if (lower === "contacts" || lower === "contact" || lower === "0-1") return "contacts";
  return objectTypeOf(lower);
}

function pair(fromSegment: string, toSegment: string): { from: ObjectType; to: AssociationTarget } {
  const from = objectTypeOf(fromSegment);
  const to = targetOf(toSegment);
  if (!from || !to || !RULES.some((r) => r.from === from && r.to === to))
    throw notFound(`Associations from ${fromSegment} to ${toSegment} are not supported by the fake HubSpot`);
  return { from, to };
}

export function parseSpecs(raw: unknown, where: string): AssociationSpec[] {
  if (!Array.isArray(raw) || raw.length === 0) throw badJson(`${where}.types must be a non-empty array`);
  return raw.map((item, i) => {
    const at = `${where}.types[${i}]`;
    const o = object(item, at);
    onlyKeys(o, ["associationCategory", "associationTypeId"], at);
    const category = o.associationCategory;
    const typeId = o.associationTypeId;
    if (category !== "HUBSPOT_DEFINED" && category !== "USER_DEFINED" && category !== "INTEGRATOR_DEFINED")
      throw badJson(`${at}.associationCategory must be HUBSPOT_DEFINED, USER_DEFINED or INTEGRATOR_DEFINED`);
    if (typeof typeId !== "number" || !Number.isInteger(typeId))
      throw badJson(`${at}.associationTypeId is required and must be an integer`);
    return { associationCategory: category, associationTypeId: typeId };
  });
}

function exists(state: CrmState, type: AssociationTarget | ObjectType, id: string): boolean {
  if (type === "contacts") return state.contacts.has(id);
  return state.records(type).has(id);
}

/**
 * Checks association specs from a `from` record to `toId`; `to` is known from the path (v4) or
 * inferred from the type id (create inputs). Returns the target type or a per-input error.
 */
export function checkAssociation(
  state: CrmState,
  from: ObjectType,
  to: AssociationTarget | undefined,
  toId: string,
  specs: AssociationSpec[],
  context: Record<string, string[]>,
): { to: AssociationTarget } | { error: RecordError } {
  let target = to;
  for (const spec of specs) {
    const rule = RULES.find(
      (r) =>
        r.from === from &&
        r.typeId === spec.associationTypeId &&
        spec.associationCategory === "HUBSPOT_DEFINED" &&
        (target === undefined || r.to === target),
    );
    if (!rule)
      return {
        error: {
          category: "VALIDATION_ERROR",
          message: `invalid association type: ${spec.associationCategory} ${spec.associationTypeId} is not a valid association type from ${from}${target ? ` to ${target}` : ""}`,
          context,
        },
      };
    target = rule.to;
  }
  if (target === undefined)
    return { error: { category: "VALIDATION_ERROR", message: "no association types", context } };
  if (!exists(state, target, toId))
    return {
      error: {
        category: "VALIDATION_ERROR",
        message: `One or more objects to associate were not found: ${target} ${toId} does not exist`,
        context: { ...context, toObjectId: [toId] },
      },
    };
  return { to: target };
}

/** Stores an association (idempotent). */
export function associate(
  state: CrmState,
  from: ObjectType,
  fromId: string,
  to: AssociationTarget,
  toId: string,
  specs: AssociationSpec[],
): void {
  if (from === "tasks") {
    const task = state.tasks.get(fromId);
    if (!task) return;
    for (const spec of specs) {
      const duplicate = task.associations.some(
        (a) => a.toObjectType === to && a.toId === toId && a.associationTypeId === spec.associationTypeId,
      );
      if (!duplicate)
        task.associations.push({
          toObjectType: to,
          toId,
          associationTypeId: spec.associationTypeId,
          associationCategory: spec.associationCategory,
        });
    }
  } else if (from === "companies" && to === "tasks") {
    associate(state, "tasks", toId, "companies", fromId, [
      { associationCategory: "HUBSPOT_DEFINED", associationTypeId: 192 },
    ]);
  } else if (from === "deals" && to === "companies") {
    const deal = state.deals.get(fromId);
    if (!deal) return;
    const primary = specs.some((s) => s.associationTypeId === 5);
    if (primary) deal.companyIds = [toId, ...deal.companyIds.filter((c) => c !== toId)];
    else if (!deal.companyIds.includes(toId)) deal.companyIds.push(toId);
  }
}

/** Associations of one record to one target type: toId -> association types. */
export function associationsOf(
  state: CrmState,
  from: ObjectType,
  record: CrmRecord,
  to: AssociationTarget,
): Map<string, AssociationTypeOut[]> {
  const out = new Map<string, AssociationTypeOut[]>();
  if (from === "tasks") {
    const task = state.tasks.get(record.id);
    for (const a of task?.associations ?? []) {
      if (a.toObjectType !== to) continue;
      const list = out.get(a.toId) ?? [];
      list.push({ category: a.associationCategory, typeId: a.associationTypeId, label: null });
      out.set(a.toId, list);
    }
  } else if (from === "deals" && to === "companies") {
    const deal = state.deals.get(record.id);
    (deal?.companyIds ?? []).forEach((companyId, i) => {
      const types: AssociationTypeOut[] = [{ category: "HUBSPOT_DEFINED", typeId: 341, label: null }];
      if (i === 0) types.unshift({ category: "HUBSPOT_DEFINED", typeId: 5, label: "Primary" });
      out.set(companyId, types);
    });
  } else if (from === "companies" && to === "tasks") {
    // The reverse of each task's company associations (192 from the task, 191 from the company).
    for (const task of state.tasks.values()) {
      if (task.associations.some((a) => a.toObjectType === "companies" && a.toId === record.id))
        out.set(task.id, [{ category: "HUBSPOT_DEFINED", typeId: 191, label: null }]);
    }
  } else if (from === "companies" && to === "deals") {
    // The reverse of each deal's companies: the deal's first company is its primary one.
    for (const deal of state.deals.values()) {
      const i = deal.companyIds.indexOf(record.id);
      if (i < 0) continue;
      const types: AssociationTypeOut[] = [{ category: "HUBSPOT_DEFINED", typeId: 342, label: null }];
      if (i === 0) types.unshift({ category: "HUBSPOT_DEFINED", typeId: 6, label: "Primary" });
      out.set(deal.id, types);
    }
  }
  return out;
}

function renderTo(map: Map<string, AssociationTypeOut[]>) {
  return [...map.entries()].map(([toId, associationTypes]) => ({
    toObjectId: Number(toId),
    associationTypes,
  }));
}

/** POST /crm/v4/associations/{from}/{to}/batch/create */
export function v4BatchCreate(
  state: CrmState,
  fromSeg: string,
  toSeg: string,
  body: unknown,
  now: () => string,
): Reply {
  const startedAt = now();
  const { from, to } = pair(fromSeg, toSeg);
  const { inputs } = batchInputs(body, ["inputs"]);
  const parsed = inputs.map((input, i) => {
    const where = `inputs[${i}]`;
    onlyKeys(input, ["from", "to", "types"], where);
    const fromObj: Obj = object(input.from, `${where}.from`);
    const toObj: Obj = object(input.to, `${where}.to`);
    onlyKeys(fromObj, ["id"], `${where}.from`);
    onlyKeys(toObj, ["id"], `${where}.to`);
    return {
      fromId: reqId(fromObj, "id", `${where}.from`),
      toId: reqId(toObj, "id", `${where}.to`),
      specs: parseSpecs(input.types, where),
    };
  });
  const results: unknown[] = [];
  const errors: RecordError[] = [];
  for (const { fromId, toId, specs } of parsed) {
    const context = { fromObjectId: [fromId] };
    if (!state.records(from).has(fromId)) {
      errors.push({ category: "OBJECT_NOT_FOUND", message: `No ${from} with id ${fromId} exists`, context });
      continue;
    }
    const check = checkAssociation(state, from, to, toId, specs, context);
    if ("error" in check) {
      errors.push(check.error);
      continue;
    }
    associate(state, from, fromId, to, toId, specs);
    const labels = specs
      .map((s) => RULES.find((r) => r.from === from && r.typeId === s.associationTypeId)?.label ?? null)
      .filter((l): l is string => l !== null);
    results.push({
      fromObjectTypeId: TYPE_IDS[from],
      fromObjectId: Number(fromId),
      toObjectTypeId: TYPE_IDS[to],
      toObjectId: Number(toId),
      labels,
    });
  }
  return batchReply(201, results, errors, startedAt, { wholeFailure: true, completedAt: now() });
}

/** POST /crm/v4/associations/{from}/{to}/batch/read: ids without associations are 207 errors, as in HubSpot. */
export function v4BatchRead(
  state: CrmState,
  fromSeg: string,
  toSeg: string,
  body: unknown,
  now: () => string,
  pageSize = 500,
): Reply {
  const startedAt = now();
  const { from, to } = pair(fromSeg, toSeg);
  const { inputs } = batchInputs(body, ["inputs"]);
  const results: unknown[] = [];
  const errors: RecordError[] = [];
  inputs.forEach((input, i) => {
    onlyKeys(input, ["id", "after"], `inputs[${i}]`);
    const after = optString(input, "after", `inputs[${i}]`);
    const id = reqId(input, "id", `inputs[${i}]`);
    const record = state.records(from).get(id);
    const map = record ? associationsOf(state, from, record, to) : new Map<string, AssociationTypeOut[]>();
    if (map.size === 0) {
      errors.push({
        category: "OBJECT_NOT_FOUND",
        subCategory: "crm.associations.NO_ASSOCIATIONS_FOUND",
        message: `No ${to} is associated with ${from} ${id}.`,
        context: { fromObjectId: [id] },
      });
      return;
    }
    // Each object's associations come a page at a time; `after` (an offset here) asks for the next.
    const all = renderTo(map);
    const start = after === undefined ? 0 : Number(after);
    const page = all.slice(start, start + pageSize);
    const next =
      start + pageSize < all.length ? { paging: { next: { after: String(start + pageSize) } } } : {};
    results.push({ from: { id }, to: page, ...next });
  });
  return batchReply(200, results, errors, startedAt, { wholeFailure: false, completedAt: now() });
}

/** GET /crm/v4/objects/{from}/{id}/associations/{to}?limit=&after= */
export function v4List(
  state: CrmState,
  fromSeg: string,
  id: string,
  toSeg: string,
  query: Record<string, string>,
): Reply {
  const { from, to } = pair(fromSeg, toSeg);
  const record = state.records(from).get(id);
  if (!record) throw notFound(`No ${from} with id ${id} exists`);
  const limit = query.limit === undefined ? 500 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    throw validationError("limit must be an integer between 1 and 500");
  const offset = query.after === undefined ? 0 : Number(query.after);
  if (!Number.isInteger(offset) || offset < 0)
    throw apiError(400, "VALIDATION_ERROR", "after must be a paging token");
  const all = renderTo(associationsOf(state, from, record, to));
  const page = all.slice(offset, offset + limit);
  const body: Obj = { results: page };
  if (offset + limit < all.length) body.paging = { next: { after: String(offset + limit) } };
  return { status: 200, body };
}
