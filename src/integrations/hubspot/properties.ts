import { type HubSpotHttp, rejectedAnswer } from "./hubspot-http.ts";

/** The property group pql-router's properties live in, on companies and on tasks. */
export const GROUP = { name: "product_qualified", label: "Product-qualified", displayOrder: -1 } as const;

export interface PropertyDefinition {
  name: string;
  label: string;
  type: "string" | "number" | "enumeration" | "datetime";
  fieldType: "text" | "textarea" | "number" | "select" | "date";
  description: string;
  options?: { label: string; value: string; displayOrder: number }[];
  hasUniqueValue?: boolean;
}

/** Company property names, as written by the score sync. */
export const COMPANY = {
  accountId: "pql_account_id",
  score: "pql_score",
  tier: "pql_tier",
  pqr: "pql_pqr_estimate",
  icp: "pql_icp_score",
  reasons: "pql_top_reasons",
  scoredAt: "pql_last_scored_at",
  routedAt: "pql_routed_at",
  routedTo: "pql_routed_to",
  claimedBy: "pql_claimed_by",
  claimedAt: "pql_claimed_at",
  timeToClaim: "pql_time_to_claim_hours",
  configVersion: "pql_config_version",
} as const;

/** The task property that makes task creation exactly-once: one value per routing decision. */
export const TASK_ROUTING_KEY = "pql_routing_key";

const text = (name: string, label: string, description: string, long = false): PropertyDefinition => ({
  name,
  label,
  type: "string",
  fieldType: long ? "textarea" : "text",
  description,
});
const number = (name: string, label: string, description: string): PropertyDefinition => ({
  name,
  label,
  type: "number",
  fieldType: "number",
  description,
});
const datetime = (name: string, label: string, description: string): PropertyDefinition => ({
  name,
  label,
  type: "datetime",
  fieldType: "date",
  description,
});

export const COMPANY_PROPERTIES: readonly PropertyDefinition[] = [
  {
    ...text(COMPANY.accountId, "PQL account id", "pql-router's account id (the product's groupId); unique"),
    hasUniqueValue: true,
  },
  number(COMPANY.score, "PQL score", "Product-qualified lead score, 0-100, account level"),
  {
    name: COMPANY.tier,
    label: "PQL tier",
    type: "enumeration",
    fieldType: "select",
    description: "hot accounts are routed to sales; warm are watched",
    options: ["hot", "warm", "cold"].map((value, displayOrder) => ({
      label: value[0]?.toUpperCase() + value.slice(1),
      value,
      displayOrder,
    })),
  },
  number(
    COMPANY.pqr,
    "PQR estimate",
    "Product-qualified revenue: expected annual contract value if converted",
  ),
  number(COMPANY.icp, "ICP score", "Ideal-customer-profile match, 0-100"),
  text(COMPANY.reasons, "PQL top reasons", "Why the account scores what it does, in plain words", true),
  datetime(COMPANY.scoredAt, "PQL last scored at", "As-of time of the score"),
  datetime(COMPANY.routedAt, "PQL routed at", "When the account was last routed to sales"),
  text(COMPANY.routedTo, "PQL routed to", "The rep or pool it was routed to"),
  text(COMPANY.claimedBy, "PQL claimed by", "The rep who claimed it in Slack"),
  datetime(COMPANY.claimedAt, "PQL claimed at", "When it was claimed"),
  number(COMPANY.timeToClaim, "PQL time to claim (hours)", "Hours from routing to claim"),
  text(COMPANY.configVersion, "PQL config version", "Version of the scoring config that produced the score"),
];

export const TASK_PROPERTIES: readonly PropertyDefinition[] = [
  {
    ...text(
      TASK_ROUTING_KEY,
      "PQL routing key",
      "One value per routing decision: makes task creation exactly-once",
    ),
    hasUniqueValue: true,
  },
];

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
  for (const [object, wanted] of [
    ["companies", COMPANY_PROPERTIES],
    ["tasks", TASK_PROPERTIES],
  ] as const) {
    const groups = await read<{ results: { name: string }[] }>(http, `/crm/v3/properties/${object}/groups`);
    if (!groups.results.some((g) => g.name === GROUP.name)) {
      await write(http, `/crm/v3/properties/${object}/groups`, GROUP);
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
      await write(http, `/crm/v3/properties/${object}/batch/create`, {
        inputs: missing.map((p) => ({ ...p, groupName: GROUP.name })),
      });
      for (const p of missing) report.created.push({ object, name: p.name, kind: "property" });
    }
  }
  return report;
}

/** What `setupProperties` would send to an empty portal (for the preview). */
export function setupPayloads(): { method: "POST"; path: string; body: unknown }[] {
  return (["companies", "tasks"] as const).flatMap((object) => [
    { method: "POST" as const, path: `/crm/v3/properties/${object}/groups`, body: GROUP },
    {
      method: "POST" as const,
      path: `/crm/v3/properties/${object}/batch/create`,
      body: {
        inputs: (object === "companies" ? COMPANY_PROPERTIES : TASK_PROPERTIES).map((p) => ({
          ...p,
          groupName: GROUP.name,
        })),
      },
    },
  ]);
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

async function write(http: HubSpotHttp, path: string, body: unknown): Promise<void> {
  const answer = await http.send({ method: "POST", path, body });
  if (answer.status >= 300) {
    throw rejectedAnswer(
      `POST ${path}`,
      answer.status,
      answer.body,
      "the private app needs the crm.schemas.companies.write scope (see README)",
    );
  }
}
