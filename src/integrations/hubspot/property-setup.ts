import { type HubSpotHttp, rejectedAnswer } from "./hubspot-http.ts";
import {
  GROUP,
  groupCreate,
  PROPERTIES_BY_OBJECT,
  type PropertyDefinition,
  propertiesCreate,
} from "./property-definitions.ts";

export interface SetupReport {
  /** Writes made: groups and properties created. Zero on a second run. */
  created: { object: string; name: string; kind: "group" | "property" }[];
  existing: { object: string; name: string }[];
  /** Properties that exist with another type: reported, never overwritten. */
  conflicts: { object: string; name: string; expected: string; found: string }[];
}

interface ExistingProperty {
  name: string;
  type: string;
  fieldType: string;
  hasUniqueValue?: boolean;
}

/**
 * Creates the "Product-qualified" group and pql-router's properties on companies and tasks,
 * where missing. Reads first, so a second run makes no write call; a property that exists with
 * a different type is reported and left alone.
 */
export async function setupProperties(http: HubSpotHttp): Promise<SetupReport> {
  const report: SetupReport = { created: [], existing: [], conflicts: [] };
  for (const [object, wanted] of PROPERTIES_BY_OBJECT) {
    const groups = await read<{ results: { name: string }[] }>(http, `/crm/v3/properties/${object}/groups`);
    if (!groups.results.some((g) => g.name === GROUP.name)) {
      await write(http, groupCreate(object));
      report.created.push({ object, name: GROUP.name, kind: "group" });
    }
    const existing = new Map(
      (await read<{ results: ExistingProperty[] }>(http, `/crm/v3/properties/${object}`)).results.map((p) => [
        p.name,
        p,
      ]),
    );
    const missing: PropertyDefinition[] = [];
    for (const property of wanted) {
      const found = existing.get(property.name);
      if (!found) missing.push(property);
      else if (
        found.type !== property.type ||
        (property.hasUniqueValue === true && found.hasUniqueValue !== true)
      ) {
        report.conflicts.push({
          object,
          name: property.name,
          expected: describeType(property.type, property.hasUniqueValue),
          found: describeType(found.type, found.hasUniqueValue),
        });
      } else report.existing.push({ object, name: property.name });
    }
    if (missing.length > 0) {
      await write(http, propertiesCreate(object, missing));
      for (const p of missing) report.created.push({ object, name: p.name, kind: "property" });
    }
  }
  return report;
}

function describeType(type: string, unique: boolean | undefined): string {
  return unique ? `${type} (unique values)` : type;
}

async function read<T>(http: HubSpotHttp, path: string): Promise<T> {
  const { status, body } = await http.send<T>({ method: "GET", path });
  if (status !== 200) {
    throw rejectedAnswer(`GET ${path}`, status, body);
  }
  return body;
}

async function write(
  http: HubSpotHttp,
  request: { method: "POST"; path: string; body: unknown },
): Promise<void> {
  const { path } = request;
  const answer = await http.send(request);
  if (answer.status >= 300) {
    throw rejectedAnswer(
      `POST ${path}`,
      answer.status,
      answer.body,
      "the private app needs the crm.schemas.companies.write scope (see README)",
    );
  }
}
