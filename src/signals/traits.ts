/**
 * Typed fields read from Segment traits. Segment has reserved trait names (name, email, title,
 * employees, industry, website, plan); the rest are conventions we document. A value of the
 * wrong shape is ignored (the raw traits are still stored), never a reason to reject a message.
 */

export const TECH_STACK_TRAITS = ["tech_stack", "techStack"];

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
  set("name", text(traits.name));
  set("domain", domainOf(text(traits.domain) ?? text(traits.website)));
  set("employees", wholeNumber(traits.employees ?? traits.employee_count ?? traits.employeeCount));
  set("industry", text(traits.industry));
  set("region", text(traits.region));
  set("plan", text(traits.plan));
  set("seats", wholeNumber(traits.seats));
  set("mrr", number(traits.mrr));
  const stack = TECH_STACK_TRAITS.map((k) => traits[k]).find((v) => v !== undefined);
  set("tech_stack", list(stack));
  return fields;
}

export interface UserFields {
  email?: string;
  title?: string;
  persona?: string;
}

export function userFields(traits: Record<string, unknown>): UserFields {
  const fields: UserFields = {};
  const email = text(traits.email);
  const title = text(traits.title) ?? text(traits.jobTitle) ?? text(traits.job_title);
  const persona = text(traits.persona) ?? text(traits.role);
  if (email) fields.email = email.toLowerCase();
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
    return host.includes(".") ? host : undefined;
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
