import { type PropertyProblem, validationError } from "./errors.ts";
import {
  type Obj,
  object,
  onlyKeys,
  optBoolean,
  optInt,
  optString,
  reqString,
  type Scalar,
} from "./shape.ts";

export type ObjectType = "companies" | "tasks" | "deals";
export const OBJECT_TYPES: readonly ObjectType[] = ["companies", "tasks", "deals"];

export type PropertyType = "string" | "number" | "enumeration" | "bool" | "datetime" | "date";

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder?: number;
  hidden?: boolean;
  description?: string;
}

export interface PropertyDefinition {
  name: string;
  label: string;
  type: PropertyType;
  fieldType: string;
  groupName: string;
  description?: string;
  options?: PropertyOption[];
  hasUniqueValue?: boolean;
  hubspotDefined?: boolean;
  calculated?: boolean;
  displayOrder?: number;
  hidden?: boolean;
  formField?: boolean;
  /** HubSpot's modificationMetadata.readOnlyValue: writes are rejected (hs_object_id, createdate, ...). */
  readOnlyValue?: boolean;
}

export interface PropertyGroup {
  name: string;
  label: string;
  displayOrder: number;
}

/** Valid (type, fieldType) pairs, per HubSpot's property docs. */
export const FIELD_TYPES: Record<PropertyType, readonly string[]> = {
  string: ["text", "textarea", "phonenumber", "html", "file"],
  number: ["number", "calculation_equation"],
  enumeration: ["select", "radio", "checkbox", "booleancheckbox"],
  bool: ["booleancheckbox"],
  datetime: ["date", "datetime"],
  date: ["date"],
};

const NAME_RE = /^[a-z][a-z0-9_]*$/;

/** The HubSpot object type ids and singular names HubSpot also accepts in paths. */
const TYPE_ALIASES: Record<string, ObjectType> = {
  companies: "companies",
  company: "companies",
  "0-2": "companies",
  tasks: "tasks",
  task: "tasks",
  "0-27": "tasks",
  deals: "deals",
  deal: "deals",
  "0-3": "deals",
};

export function objectTypeOf(segment: string): ObjectType | undefined {
  return TYPE_ALIASES[segment.toLowerCase()];
}

export const TYPE_IDS: Record<ObjectType | "contacts", string> = {
  companies: "0-2",
  contacts: "0-1",
  deals: "0-3",
  tasks: "0-27",
};

export const TYPE_LABELS: Record<ObjectType, string> = { companies: "COMPANY", tasks: "TASK", deals: "DEAL" };

/** createdate is called hs_createdate on engagements such as tasks. */
export function createdateName(type: ObjectType): string {
  return type === "tasks" ? "hs_createdate" : "createdate";
}

/** Properties HubSpot returns from reads and searches when none are asked for. */
export const DEFAULT_PROPERTIES: Record<ObjectType, readonly string[]> = {
  companies: ["name", "domain"],
  tasks: [],
  deals: ["dealname", "amount", "closedate", "pipeline", "dealstage"],
};

function opts(...values: string[]): PropertyOption[] {
  return values.map((value, displayOrder) => ({
    label: value.replaceAll("_", " ").toLowerCase(),
    value,
    displayOrder,
  }));
}

function def(
  name: string,
  type: PropertyType,
  fieldType: string,
  groupName: string,
  extra: Partial<PropertyDefinition> = {},
): PropertyDefinition {
  return { name, label: name, type, fieldType, groupName, hubspotDefined: true, ...extra };
}

function system(type: ObjectType, group: string): PropertyDefinition[] {
  const readOnly = { readOnlyValue: true };
  return [
    def("hs_object_id", "number", "number", group, { ...readOnly, label: "Record ID" }),
    def(createdateName(type), "datetime", "date", group, { ...readOnly, label: "Create Date" }),
    def("hs_lastmodifieddate", "datetime", "date", group, { ...readOnly, label: "Last Modified Date" }),
  ];
}

/** HubSpot's built-in groups and the built-in properties the sync uses. */
export function seedSchema(): {
  groups: Map<string, Map<string, PropertyGroup>>;
  properties: Map<string, Map<string, PropertyDefinition>>;
} {
  const groups = new Map<string, Map<string, PropertyGroup>>();
  const properties = new Map<string, Map<string, PropertyDefinition>>();
  const seed: Record<ObjectType, [string, string, PropertyDefinition[]]> = {
    companies: [
      "companyinformation",
      "Company information",
      [
        def("name", "string", "text", "companyinformation", { label: "Name" }),
        def("domain", "string", "text", "companyinformation", { label: "Company Domain Name" }),
        def("hubspot_owner_id", "enumeration", "select", "companyinformation", { label: "Company owner" }),
        def("lifecyclestage", "enumeration", "radio", "companyinformation", {
          label: "Lifecycle Stage",
          options: opts("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity"),
        }),
        def("industry", "enumeration", "select", "companyinformation", {
          label: "Industry",
          options: opts(
            "COMPUTER_SOFTWARE",
            "INFORMATION_TECHNOLOGY_AND_SERVICES",
            "HUMAN_RESOURCES",
            "FINANCIAL_SERVICES",
          ),
        }),
        def("numberofemployees", "number", "number", "companyinformation", { label: "Number of Employees" }),
      ],
    ],
    tasks: [
      "taskinformation",
      "Task information",
      [
        def("hs_task_subject", "string", "text", "taskinformation", { label: "Task Title" }),
        def("hs_task_body", "string", "html", "taskinformation", { label: "Task notes" }),
        def("hs_timestamp", "datetime", "date", "taskinformation", { label: "Due date" }),
        def("hs_task_priority", "enumeration", "select", "taskinformation", {
          options: opts("LOW", "MEDIUM", "HIGH"),
        }),
        def("hs_task_status", "enumeration", "select", "taskinformation", {
          options: opts("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
        }),
        def("hs_task_type", "enumeration", "select", "taskinformation", {
          options: opts("TODO", "CALL", "EMAIL"),
        }),
        def("hubspot_owner_id", "enumeration", "select", "taskinformation", { label: "Assigned to" }),
      ],
    ],
    deals: [
      "dealinformation",
      "Deal information",
      [
        def("dealname", "string", "text", "dealinformation", { label: "Deal Name" }),
        def("amount", "number", "number", "dealinformation", { label: "Amount" }),
        def("closedate", "datetime", "date", "dealinformation", { label: "Close Date" }),
        def("dealstage", "enumeration", "radio", "dealinformation", {
          label: "Deal Stage",
          options: opts(
            "appointmentscheduled",
            "qualifiedtobuy",
            "presentationscheduled",
            "decisionmakerboughtin",
            "contractsent",
            "closedwon",
            "closedlost",
          ),
        }),
        def("pipeline", "enumeration", "select", "dealinformation", {
          label: "Pipeline",
          options: opts("default"),
        }),
        def("hubspot_owner_id", "enumeration", "select", "dealinformation", { label: "Deal owner" }),
      ],
    ],
  };
  for (const type of OBJECT_TYPES) {
    const [groupName, groupLabel, defs] = seed[type];
    groups.set(type, new Map([[groupName, { name: groupName, label: groupLabel, displayOrder: -1 }]]));
    properties.set(type, new Map([...defs, ...system(type, groupName)].map((d) => [d.name, d])));
  }
  // lifecyclestage options, labelled like HubSpot's
  const lifecycle = properties.get("companies")?.get("lifecyclestage");
  lifecycle?.options?.push(
    { label: "Customer", value: "customer", displayOrder: 5 },
    { label: "Evangelist", value: "evangelist", displayOrder: 6 },
    { label: "Other", value: "other", displayOrder: 7 },
  );
  return { groups, properties };
}

// ---------------------------------------------------------------------------------------------
// Property definitions (create / update bodies)

const CREATE_KEYS = [
  "name",
  "label",
  "type",
  "fieldType",
  "groupName",
  "description",
  "options",
  "displayOrder",
  "hasUniqueValue",
  "hidden",
  "formField",
  "calculationFormula",
  "externalOptions",
  "referencedObjectType",
  "dataSensitivity",
] as const;

const UPDATE_KEYS = [
  "label",
  "type",
  "fieldType",
  "groupName",
  "description",
  "options",
  "displayOrder",
  "hidden",
  "formField",
  "calculationFormula",
] as const;

function propertyType(value: string, where: string): PropertyType {
  if (value in FIELD_TYPES) return value as PropertyType;
  throw validationError(
    `${where}: "${value}" is not a valid property type (${Object.keys(FIELD_TYPES).join(", ")})`,
  );
}

function checkFieldType(type: PropertyType, fieldType: string, where: string): void {
  if (!FIELD_TYPES[type].includes(fieldType))
    throw validationError(
      `${where}: fieldType "${fieldType}" is not valid for type "${type}" (allowed: ${FIELD_TYPES[type].join(", ")})`,
    );
}

function parseOptions(value: unknown, where: string): PropertyOption[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw validationError(`${where}.options must be an array`);
  const seen = new Set<string>();
  return value.map((raw, i) => {
    const at = `${where}.options[${i}]`;
    const o = object(raw, at);
    onlyKeys(o, ["label", "value", "displayOrder", "hidden", "description"], at);
    const label = o.label;
    const optionValue = o.value;
    if (typeof label !== "string" || label === "") throw validationError(`${at}.label is required`);
    if (typeof optionValue !== "string" || optionValue === "")
      throw validationError(`${at}.value is required`);
    if (seen.has(optionValue)) throw validationError(`${at}: duplicate option value "${optionValue}"`);
    seen.add(optionValue);
    const option: PropertyOption = { label, value: optionValue };
    const displayOrder = optInt(o, "displayOrder", at);
    if (displayOrder !== undefined) option.displayOrder = displayOrder;
    const hidden = optBoolean(o, "hidden", at);
    if (hidden !== undefined) option.hidden = hidden;
    const description = optString(o, "description", at);
    if (description !== undefined) option.description = description;
    return option;
  });
}

function checkOptionsPresent(type: PropertyType, options: PropertyOption[] | undefined, where: string): void {
  if (type === "enumeration" && (options === undefined || options.length === 0))
    throw validationError(`${where}: enumeration properties need a non-empty options list`);
}

/** Validates a PropertyCreate body; `groupExists` checks groupName. Throws a 400 on any problem. */
export function parsePropertyCreate(
  raw: unknown,
  where: string,
  groupExists: (name: string) => boolean,
): PropertyDefinition {
  const o = object(raw, where);
  onlyKeys(o, CREATE_KEYS, where);
  const name = reqString(o, "name", where);
  if (!NAME_RE.test(name) || name.length > 100)
    throw validationError(
      `${where}: property name "${name}" is invalid; it must start with a lowercase letter and contain only lowercase letters, digits and underscores (at most 100 characters)`,
    );
  const label = reqString(o, "label", where);
  if (label.trim() === "") throw validationError(`${where}: label is required`);
  const type = propertyType(reqString(o, "type", where), where);
  const fieldType = reqString(o, "fieldType", where);
  checkFieldType(type, fieldType, where);
  const groupName = reqString(o, "groupName", where);
  if (!groupExists(groupName))
    throw validationError(`${where}: property group "${groupName}" does not exist`);
  const options = parseOptions(o.options, where);
  checkOptionsPresent(type, options, where);
  const hasUniqueValue = optBoolean(o, "hasUniqueValue", where);
  if (hasUniqueValue && !(type === "number" || (type === "string" && fieldType === "text")))
    throw validationError(`${where}: only single-line text and number properties can require unique values`);
  const definition: PropertyDefinition = { name, label, type, fieldType, groupName, hubspotDefined: false };
  const description = optString(o, "description", where);
  if (description !== undefined) definition.description = description;
  if (options !== undefined) definition.options = options;
  if (hasUniqueValue !== undefined) definition.hasUniqueValue = hasUniqueValue;
  const displayOrder = optInt(o, "displayOrder", where);
  if (displayOrder !== undefined) definition.displayOrder = displayOrder;
  const hidden = optBoolean(o, "hidden", where);
  if (hidden !== undefined) definition.hidden = hidden;
  const formField = optBoolean(o, "formField", where);
  if (formField !== undefined) definition.formField = formField;
  return definition;
}

/** Applies a PropertyUpdate body to a copy of `current`. Changing the type is refused. */
export function applyPropertyUpdate(
  current: PropertyDefinition,
  raw: unknown,
  groupExists: (name: string) => boolean,
): PropertyDefinition {
  const where = "request body";
  const o = object(raw, where);
  onlyKeys(o, UPDATE_KEYS, where);
  const next: PropertyDefinition = { ...current };
  const type = optString(o, "type", where);
  if (type !== undefined && type !== current.type)
    throw validationError(
      `Cannot change the type of property "${current.name}" from ${current.type} to ${type}`,
    );
  const fieldType = optString(o, "fieldType", where);
  if (fieldType !== undefined) {
    checkFieldType(current.type, fieldType, where);
    next.fieldType = fieldType;
  }
  const label = optString(o, "label", where);
  if (label !== undefined) {
    if (label.trim() === "") throw validationError("label must not be empty");
    next.label = label;
  }
  const description = optString(o, "description", where);
  if (description !== undefined) next.description = description;
  const groupName = optString(o, "groupName", where);
  if (groupName !== undefined) {
    if (!groupExists(groupName)) throw validationError(`property group "${groupName}" does not exist`);
    next.groupName = groupName;
  }
  const options = parseOptions(o.options, where);
  if (options !== undefined) {
    checkOptionsPresent(current.type, options, where);
    next.options = options;
  }
  const displayOrder = optInt(o, "displayOrder", where);
  if (displayOrder !== undefined) next.displayOrder = displayOrder;
  const hidden = optBoolean(o, "hidden", where);
  if (hidden !== undefined) next.hidden = hidden;
  const formField = optBoolean(o, "formField", where);
  if (formField !== undefined) next.formField = formField;
  return next;
}

/** A definition as GET /crm/v3/properties answers it. */
export function renderProperty(d: PropertyDefinition): Obj {
  const { readOnlyValue, ...rest } = d;
  return {
    ...rest,
    description: d.description ?? "",
    options: d.options ?? [],
    displayOrder: d.displayOrder ?? -1,
    hasUniqueValue: d.hasUniqueValue ?? false,
    hidden: d.hidden ?? false,
    formField: d.formField ?? false,
    calculated: d.calculated ?? false,
    externalOptions: false,
    hubspotDefined: d.hubspotDefined ?? false,
    modificationMetadata: {
      archivable: !d.hubspotDefined,
      readOnlyDefinition: d.hubspotDefined ?? false,
      readOnlyValue: readOnlyValue ?? d.calculated ?? false,
    },
    archived: false,
  };
}

export function parseGroupCreate(raw: unknown): PropertyGroup {
  const where = "request body";
  const o = object(raw, where);
  onlyKeys(o, ["name", "label", "displayOrder"], where);
  const name = reqString(o, "name", where);
  if (!NAME_RE.test(name) || name.length > 100)
    throw validationError(
      `property group name "${name}" is invalid; use lowercase letters, digits and underscores`,
    );
  const label = reqString(o, "label", where);
  if (label.trim() === "") throw validationError("label is required");
  return { name, label, displayOrder: optInt(o, "displayOrder", where) ?? -1 };
}

// ---------------------------------------------------------------------------------------------
// Property values

const ISO_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const DAY_MS = 86_400_000;
const MAX_STRING = 65_536;

export type ValueCheck = { ok: true; value: string | null } | { ok: false; problem: PropertyProblem };

/**
 * Checks one property value the way HubSpot does and returns what HubSpot would store: null for
 * null/"" (clears the value), ISO-8601 for datetimes, YYYY-MM-DD for dates.
 */
export function checkValue(d: PropertyDefinition, raw: Scalar, isOwner: (id: string) => boolean): ValueCheck {
  const fail = (code: string, message: string): ValueCheck => ({
    ok: false,
    problem: { name: d.name, code, message },
  });
  if (d.readOnlyValue || d.calculated)
    return fail("READ_ONLY_VALUE", `Property "${d.name}" is read-only and its value cannot be set`);
  if (raw === null) return { ok: true, value: null };
  const text = String(raw);
  if (text === "") return { ok: true, value: null };
  switch (d.type) {
    case "string":
      if (text.length > MAX_STRING)
        return fail("INVALID_STRING", `${d.name} is longer than the ${MAX_STRING} characters allowed`);
      return { ok: true, value: text };
    case "number": {
      const trimmed = text.trim();
      if (trimmed === "" || !Number.isFinite(Number(trimmed)))
        return fail("INVALID_FLOAT", `${JSON.stringify(text)} was not a valid number.`);
      return { ok: true, value: trimmed };
    }
    case "bool": {
      const lower = text.toLowerCase();
      if (lower !== "true" && lower !== "false")
        return fail(
          "INVALID_BOOLEAN",
          `${JSON.stringify(text)} is not a valid boolean (use "true" or "false")`,
        );
      return { ok: true, value: lower };
    }
    case "datetime":
    case "date":
      return checkTime(d, text, fail);
    case "enumeration":
      return checkOption(d, text, isOwner, fail);
  }
}

function checkTime(
  d: PropertyDefinition,
  text: string,
  fail: (code: string, message: string) => ValueCheck,
): ValueCheck {
  let ms: number;
  if (/^-?\d+$/.test(text)) ms = Number(text);
  else if (ISO_RE.test(text))
    ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) || text.length === 10 ? text : `${text}Z`);
  else ms = Number.NaN;
  if (!Number.isFinite(ms) || Number.isNaN(new Date(ms).getTime()))
    return fail(
      "INVALID_DATE",
      `${JSON.stringify(text)} is not a valid ${d.type}; use ISO-8601 or milliseconds since the epoch`,
    );
  if (d.type === "date") {
    if (ms % DAY_MS !== 0)
      return fail(
        "INVALID_DATE",
        `${JSON.stringify(text)} is not midnight UTC; date properties only take dates`,
      );
    return { ok: true, value: new Date(ms).toISOString().slice(0, 10) };
  }
  return { ok: true, value: new Date(ms).toISOString() };
}

function checkOption(
  d: PropertyDefinition,
  text: string,
  isOwner: (id: string) => boolean,
  fail: (code: string, message: string) => ValueCheck,
): ValueCheck {
  if (d.name === "hubspot_owner_id") {
    if (!isOwner(text)) return fail("INVALID_OWNER_ID", `${JSON.stringify(text)} is not a valid owner id`);
    return { ok: true, value: text };
  }
  const allowed = (d.options ?? []).map((o) => o.value);
  const values = d.fieldType === "checkbox" ? text.split(";") : [text];
  for (const value of values) {
    if (!allowed.includes(value))
      return fail(
        "INVALID_OPTION",
        `${JSON.stringify(value)} was not one of the allowed options: [${allowed.join(", ")}]`,
      );
  }
  return { ok: true, value: text };
}

export function isUniqueProperty(d: PropertyDefinition | undefined): boolean {
  return d?.hasUniqueValue === true;
}
