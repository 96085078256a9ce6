/**
 * Typed fields read from Segment traits. Segment has reserved trait names (name, email, title,
 * employees, industry, website, plan); the rest are conventions we document. A value of the
 * wrong shape is ignored (the raw traits are still stored), never a reason to reject a message.
 */

export const TECH_STACK_TRAITS = ["tech_stack", "techStack"];

/** The traits each account field is read from, in order of preference. */
export const ACCOUNT_FIELD_TRAITS = {
  name: ["name"],
  domain: ["domain", "website"],
  employees: ["employees", "employee_count", "employeeCount"],
  industry: ["industry"],
  region: ["region"],
  plan: ["plan"],
  seats: ["seats"],
  mrr: ["mrr"],
  tech_stack: TECH_STACK_TRAITS,
} as const satisfies Record<keyof AccountFields, readonly string[]>;

/** The traits each user field is read from, in order of preference. */
export const USER_FIELD_TRAITS = {
  email: ["email"],
  title: ["title", "jobTitle", "job_title"],
  persona: ["persona", "role"],
} as const satisfies Record<keyof UserFields, readonly string[]>;

export interface AccountFields {
  name?: string;
  domain?: string;
  employees?: number;
  industry?: string;
  region?: string;
  plan?: string;
  seats?: number;
  mrr?: number;
  tech_stack?: string[];
}

export function accountFields(traits: Record<string, unknown>): AccountFields {
  const fields: AccountFields = {};
  const set = <K extends keyof AccountFields>(key: K, value: AccountFields[K] | undefined) => {
    if (value !== undefined) fields[key] = value;
  };
  const sent = (field: keyof AccountFields) =>
    ACCOUNT_FIELD_TRAITS[field].map((k) => traits[k]).find((v) => v !== undefined && v !== null);
  set("name", text(sent("name")));
  set("domain", domainOf(text(traits.domain) ?? text(traits.website)));
  set("employees", wholeNumber(sent("employees")));
  set("industry", text(sent("industry")));
  set("region", text(sent("region")));
  set("plan", text(sent("plan")));
  set("seats", wholeNumber(sent("seats")));
  set("mrr", number(sent("mrr")));
  set("tech_stack", list(sent("tech_stack")));
  return fields;
}

export interface UserFields {
  email?: string;
  title?: string;
  persona?: string;
}

export function userFields(traits: Record<string, unknown>): UserFields {
  const fields: UserFields = {};
  const first = (field: keyof UserFields) =>
    USER_FIELD_TRAITS[field].map((k) => text(traits[k])).find((v) => v !== undefined);
  const email = first("email");
  const title = first("title");
  const persona = first("persona");
  // Longer is no address (RFC 5321 allows 254 characters), and the column is indexed.
  if (email && email.length <= 254) fields.email = email.toLowerCase();
  if (title) fields.title = title;
  if (persona) fields.persona = persona;
  return fields;
}

/** "https://www.Acme.com/about" -> "acme.com"; "acme.com" -> "acme.com". */
export function domainOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  try {
    const host = new URL(withScheme).hostname.toLowerCase().replace(/^www\./, "");
    // A DNS name has at most 253 characters; the column is indexed.
    return host.includes(".") && host.length <= 253 ? host : undefined;
  } catch {
    return undefined;
  }
}

function text(value: unknown): string | undefined {
  if (typeof value === "string" && value.trim() !== "") return value.trim();
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function number(value: unknown): number | undefined {
  // "1,200" and "1 200" are how people type numbers into a CRM.
  const n = typeof value === "string" && value.trim() !== "" ? Number(value.replace(/[,\s_]/g, "")) : value;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined;
}

function wholeNumber(value: unknown): number | undefined {
  const n = number(value);
  return n !== undefined && n <= 2_000_000_000 ? Math.round(n) : undefined;
}

function list(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string" && v.trim() !== "");
  if (typeof value === "string") {
    return value
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== "");
  }
  return undefined;
}
