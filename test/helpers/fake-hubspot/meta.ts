import { apiError, batchReply, notFound, type RecordError, type Reply, validationError } from "./errors.ts";
import {
  applyPropertyUpdate,
  type ObjectType,
  objectTypeOf,
  type PropertyDefinition,
  parseGroupCreate,
  parsePropertyCreate,
  renderProperty,
} from "./schema.ts";
import { batchInputs, type Obj } from "./shape.ts";
import type { CrmState } from "./state.ts";

const OWNER_TIME = "2024-01-01T00:00:00.000Z";

export function objectTypeOrThrow(segment: string): ObjectType {
  const type = objectTypeOf(segment);
  if (!type)
    throw notFound(
      `Unable to infer object type from: ${segment} (the fake HubSpot supports companies, tasks, deals)`,
    );
  return type;
}

function alreadyExists(name: string): string {
  return `Property named '${name}' already exists.`;
}

/** GET /crm/v3/properties/{type} */
export function listProperties(state: CrmState, type: ObjectType): Reply {
  return { status: 200, body: { results: [...state.definitions(type).values()].map(renderProperty) } };
}

/** GET /crm/v3/properties/{type}/{name} */
export function getProperty(state: CrmState, type: ObjectType, name: string): Reply {
  const d = state.definitions(type).get(name);
  if (!d) throw notFound(`Unable to find property "${name}" on ${type}`);
  return { status: 200, body: renderProperty(d) };
}

/** POST /crm/v3/properties/{type} -> 201 | 400 | 409 */
export function createProperty(state: CrmState, type: ObjectType, body: unknown): Reply {
  const groups = state.groups(type);
  const d = parsePropertyCreate(body, "request body", (g) => groups.has(g));
  refuseUniqueOnActivities(type, [d]);
  const defs = state.definitions(type);
  if (defs.has(d.name))
    throw apiError(409, "OBJECT_ALREADY_EXISTS", alreadyExists(d.name), { context: { name: [d.name] } });
  defs.set(d.name, d);
  return { status: 201, body: renderProperty(d) };
}

/** POST /crm/v3/properties/{type}/batch/create: existing names fail per record (207, or 409 when all do). */
export function batchCreateProperties(
  state: CrmState,
  type: ObjectType,
  body: unknown,
  now: () => string,
): Reply {
  const startedAt = now();
  const groups = state.groups(type);
  const { inputs } = batchInputs(body, ["inputs"]);
  const parsed: PropertyDefinition[] = inputs.map((input, i) =>
    parsePropertyCreate(input, `inputs[${i}]`, (g) => groups.has(g)),
  );
  refuseUniqueOnActivities(type, parsed);
  const defs = state.definitions(type);
  const results: unknown[] = [];
  const errors: RecordError[] = [];
  for (const d of parsed) {
    if (defs.has(d.name)) {
      errors.push({
        category: "OBJECT_ALREADY_EXISTS",
        message: alreadyExists(d.name),
        context: { name: [d.name] },
      });
      continue;
    }
    defs.set(d.name, d);
    results.push(renderProperty(d));
  }
  return batchReply(201, results, errors, startedAt, { wholeFailure: true, completedAt: now() });
}

/** PATCH /crm/v3/properties/{type}/{name} */
export function updateProperty(state: CrmState, type: ObjectType, name: string, body: unknown): Reply {
  const defs = state.definitions(type);
  const current = defs.get(name);
  if (!current) throw notFound(`Unable to find property "${name}" on ${type}`);
  const groups = state.groups(type);
  const next = applyPropertyUpdate(current, body, (g) => groups.has(g));
  defs.set(name, next);
  return { status: 200, body: renderProperty(next) };
}

/** GET /crm/v3/properties/{type}/groups */
export function listGroups(state: CrmState, type: ObjectType): Reply {
  const results = [...state.groups(type).values()].map((g) => ({ ...g, archived: false }));
  return { status: 200, body: { results } };
}

/** POST /crm/v3/properties/{type}/groups -> 201 | 409 */
export function createGroup(state: CrmState, type: ObjectType, body: unknown): Reply {
  const group = parseGroupCreate(body);
  const groups = state.groups(type);
  if (groups.has(group.name))
    throw apiError(409, "OBJECT_ALREADY_EXISTS", `A property group named '${group.name}' already exists.`, {
      context: { name: [group.name] },
    });
  groups.set(group.name, group);
  return { status: 201, body: { ...group, archived: false } };
}

function renderOwner(o: CrmState["owners"][number]) {
  return { ...o, type: "PERSON", createdAt: OWNER_TIME, updatedAt: OWNER_TIME };
}

/** GET /crm/v3/owners?email=&limit=&after=&archived= */
export function listOwners(state: CrmState, query: Record<string, string>): Reply {
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    throw validationError(`limit must be an integer between 1 and 500 (got ${query.limit})`);
  const offset = query.after === undefined ? 0 : Number(query.after);
  if (!Number.isInteger(offset) || offset < 0)
    throw validationError(`after is not a valid paging token: ${query.after}`);
  const archived = query.archived === "true";
  const email = query.email?.toLowerCase();
  const matching = state.owners
    .filter((o) => o.archived === archived && (email === undefined || o.email.toLowerCase() === email))
    .sort((a, b) => a.id.length - b.id.length || (a.id < b.id ? -1 : 1));
  const body: Obj = { results: matching.slice(offset, offset + limit).map(renderOwner) };
  if (offset + limit < matching.length) body.paging = { next: { after: String(offset + limit) } };
  return { status: 200, body };
}

/** GET /crm/v3/owners/{id} */
export function getOwner(state: CrmState, id: string): Reply {
  const owner = state.owners.find((o) => o.id === id);
  if (!owner) throw notFound(`Owner ${id} not found`);
  return { status: 200, body: renderOwner(owner) };
}

/**
 * HubSpot offers unique-value properties on contacts, companies, deals, tickets and custom
 * objects only; activities such as tasks refuse them (the whole request, like other validation).
 */
function refuseUniqueOnActivities(type: ObjectType, definitions: PropertyDefinition[]): void {
  if (type !== "tasks") return;
  const unique = definitions.find((d) => d.hasUniqueValue);
  if (unique)
    throw validationError(
      `Property "${unique.name}": unique values can only be required on contacts, companies, deals, tickets and custom objects`,
    );
}
