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

/** When each trait was last set (ISO timestamps, comparable as text), or absent. */
export type TraitTimes = Record<string, string>;

const ACCOUNT_PARSERS: { [K in keyof AccountFields]-?: (value: unknown) => AccountFields[K] | undefined } = {
  name: text,
  domain: (value) => domainOf(text(value)),
  employees: wholeNumber,
  industry: text,
  region: text,
  plan: text,
  seats: wholeNumber,
  mrr: money,
  tech_stack: list,
};

/**
 * How a trait's value is read as text, a whole number ("1,200" -> 1200) or a list (an array, or
 * "BambooHR, Slack"): the fields above, and ICP criteria that name their own trait.
 */
export const readTrait = { text, wholeNumber, list } as const;

const USER_PARSERS: { [K in keyof UserFields]-?: (value: unknown) => UserFields[K] | undefined } = {
  // Longer is no address (RFC 5321 allows 254 characters), and the column is indexed.
  email: (value) => {
    const email = text(value);
    return email && email.length <= 254 ? email.toLowerCase() : undefined;
  },
  title: text,
  persona: text,
};

/**
 * The typed account fields read from traits. A field read from several traits (`domain` from
 * `domain` or `website`) takes the valid value of the one set most recently (by `times`; without
 * them, or on a tie, the first listed). A value of the wrong shape is skipped.
 */
export function accountFields(traits: Record<string, unknown>, times?: TraitTimes): AccountFields {
  return pickFields<AccountFields>(traits, times, ACCOUNT_FIELD_TRAITS, ACCOUNT_PARSERS);
}

export interface UserFields {
  email?: string;
  title?: string;
  persona?: string;
}

/** The typed user fields read from traits, chosen as `accountFields` chooses. */
export function userFields(traits: Record<string, unknown>, times?: TraitTimes): UserFields {
  return pickFields<UserFields>(traits, times, USER_FIELD_TRAITS, USER_PARSERS);
}

function pickFields<F extends object>(
  traits: Record<string, unknown>,
  times: TraitTimes | undefined,
  sources: { [K in keyof F]-?: readonly string[] },
  parsers: { [K in keyof F]-?: (value: unknown) => F[K] | undefined },
): F {
  const fields: Partial<F> = {};
  for (const field of Object.keys(sources) as (keyof F)[]) {
    let best: F[keyof F] | undefined;
    let bestAt = "";
    for (const trait of sources[field]) {
      if (!Object.hasOwn(traits, trait)) continue;
      const value = parsers[field](traits[trait]);
      if (value === undefined) continue;
      const at = times?.[trait] ?? "";
      if (best === undefined || at > bestAt) {
        best = value;
        bestAt = at;
      }
    }
    if (best !== undefined) fields[field] = best;
  }
  return fields as F;
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

/** Money fits numeric(12,2): under ten billion. */
function money(value: unknown): number | undefined {
  const n = number(value);
  return n !== undefined && n < 10_000_000_000 ? n : undefined;
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
