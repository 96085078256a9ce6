/** The property group pql-router's properties live in, on companies and on tasks. */
export const GROUP = { name: "product_qualified", label: "Product-qualified", displayOrder: -1 } as const;

export interface PropertyDefinition {
  name: string;
  label: string;
  type: "string" | "number" | "enumeration" | "datetime" | "date";
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
  probability: "pql_conversion_probability",
  calibratedAt: "pql_calibrated_at",
} as const;

/** The task property that makes task creation exactly-once: one value per routing decision, found again through the company's tasks. */
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
/** A calendar date (HubSpot stores it as midnight UTC; written as YYYY-MM-DD). */
const date = (name: string, label: string, description: string): PropertyDefinition => ({
  name,
  label,
  type: "date",
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
  number(
    COMPANY.probability,
    "PQL conversion probability (%)",
    "Calibrated chance of converting within the calibration's horizon, in percent; empty until pql-router calibrate runs for the current config",
  ),
  date(
    COMPANY.calibratedAt,
    "PQL calibrated at",
    "Date of the calibration behind the PQL conversion probability",
  ),
];

/** Tasks cannot require unique values (HubSpot offers that on contacts, companies, deals, tickets, custom objects). */
export const TASK_PROPERTIES: readonly PropertyDefinition[] = [
  text(
    TASK_ROUTING_KEY,
    "PQL routing key",
    "One value per routing decision: makes task creation exactly-once",
  ),
];

/** The objects pql-router defines properties on, with their definitions. */
export const PROPERTIES_BY_OBJECT = [
  ["companies", COMPANY_PROPERTIES],
  ["tasks", TASK_PROPERTIES],
] as const;

/** The request that creates the property group on `object`. */
export function groupCreate(object: string) {
  return { method: "POST" as const, path: `/crm/v3/properties/${object}/groups`, body: GROUP };
}

/** The request that creates `properties` on `object`, in the group. */
export function propertiesCreate(object: string, properties: readonly PropertyDefinition[]) {
  return {
    method: "POST" as const,
    path: `/crm/v3/properties/${object}/batch/create`,
    body: { inputs: properties.map((p) => ({ ...p, groupName: GROUP.name })) },
  };
}

/** What `setupProperties` sends to an empty portal (for the preview). */
export function setupPayloads(): { method: "POST"; path: string; body: unknown }[] {
  return PROPERTIES_BY_OBJECT.flatMap(([object, properties]) => [
    groupCreate(object),
    propertiesCreate(object, properties),
  ]);
}
