import type { HubSpotConfig } from "../../config/schema.ts";
import type { StoredCalibration } from "../../store/calibration-store.ts";
import type { Database } from "../../store/database.ts";
import {
  adoptStoredCompanyIds,
  type CompanyMatch,
  type CompanyState,
  companiesToReadOwners,
  companyOwners,
  forgetCompanies,
  matchedCompanies,
  recordCompanyOwners,
  recordMatches,
  recordOwnerRejected,
  recordRejected,
  recordWritten,
  type UnmatchedAccount,
  unmatchedAccounts,
  unmatchedCount,
} from "../../store/hubspot-store.ts";
import { type BatchWrite, type CrmObject, writeInBatches } from "./batch-write.ts";
import { changedProperties, companyPropertyValues, ownerChange } from "./company-property-values.ts";
import { type HubSpotHttp, rejectedAnswer } from "./hubspot-http.ts";
import { COMPANY } from "./property-definitions.ts";

/** Domains per search request: one IN filter holds at most 100 values, and each domain is also sent with "www.". */
export const DOMAINS_PER_SEARCH = 50;
/** Results per search page (HubSpot's maximum). */
const SEARCH_PAGE = 200;

export interface MatchResult {
  matched: number;
  created: number;
  /** Accounts in the sync tiers left without a company (not found, and not in a tier that creates). */
  unmatched: number;
  rejected: number;
}

/** Lower-cased, without scheme, "www." or path: how domains are compared. */
export function normalizeDomain(domain: string): string {
  return domain
    .trim()
    .toLowerCase()
    .replace(/^https?:\/\//, "")
    .replace(/^www\./, "")
    .replace(/[/?#].*$/, "");
}

/** Creates a company per account (an upsert on pql_account_id, so a rerun never creates it twice). */
export const companyUpsert: Pick<BatchWrite<UnmatchedAccount>, "path" | "key" | "input" | "resultKey"> = {
  path: "/crm/v3/objects/companies/batch/upsert",
  key: (a) => a.accountId,
  input: (a) => ({ idProperty: COMPANY.accountId, id: a.accountId, properties: newCompany(a) }),
  resultKey: (r: CrmObject) => r.properties[COMPANY.accountId] ?? undefined,
};

/** Writes changed properties to matched companies. */
export const companyUpdate: Pick<BatchWrite<CompanyWrite>, "path" | "key" | "input" | "resultKey"> = {
  path: "/crm/v3/objects/companies/batch/update",
  key: (w) => w.companyId,
  input: (w) => ({ id: w.companyId, properties: w.properties }),
  resultKey: (r) => r.id,
};

/**
 * Finds a HubSpot company for each account in the config's sync tiers that has none: the id
 * stored on the account; else a company with its domain (searched DOMAINS_PER_SEARCH domains per
 * request, each also in its www. form, and not searched again before `searchAgainAfterHours`);
 * else, for the create tiers, a new company (`companyUpsert`). Matches are cached.
 */
export async function matchCompanies(
  db: Database,
  http: HubSpotHttp,
  config: HubSpotConfig,
  now: Date,
): Promise<MatchResult> {
  const result: MatchResult = { matched: 0, created: 0, unmatched: 0, rejected: 0 };
  await adoptStoredCompanyIds(db);
  const searchBefore = now.getTime() - config.companies.searchAgainAfterHours * 3_600_000;
  const accounts = await unmatchedAccounts(db, config.companies.syncTiers, {
    searchBefore: new Date(searchBefore),
    createTiers: config.companies.createTiers,
  });
  const toSearch = accounts.filter(
    (a) =>
      a.domain &&
      normalizeDomain(a.domain) !== "" &&
      (a.searchedAt === null || a.searchedAt.getTime() < searchBefore),
  );
  const notFound = new Set(accounts.filter((a) => !toSearch.includes(a)).map((a) => a.accountId));
  const shared = new Set<string>();
  for (let i = 0; i < toSearch.length; i += DOMAINS_PER_SEARCH) {
    const batch = toSearch.slice(i, i + DOMAINS_PER_SEARCH);
    const found = await searchDomains(
      http,
      batch.map((a) => normalizeDomain(a.domain ?? "")),
    );
    // One account per company: the first account (by id) takes it; others sharing the domain
    // stay unmatched (and are never given a duplicate company).
    const taken = await companyOwners(
      db,
      [...found.values()].map((c) => c.id),
    );
    const matches: CompanyMatch[] = batch.map((a) => {
      const company = found.get(normalizeDomain(a.domain ?? ""));
      if (company === undefined) return { accountId: a.accountId, companyId: null, matchedBy: "domain" };
      const companyId = company.id;
      const holder = taken.get(companyId);
      if (holder !== undefined && holder !== a.accountId) {
        shared.add(a.accountId);
        return { accountId: a.accountId, companyId: null, matchedBy: "shared" };
      }
      taken.set(companyId, a.accountId);
      return { accountId: a.accountId, companyId, matchedBy: "domain", ownerId: company.ownerId };
    });
    await recordMatches(db, matches, now);
    for (const m of matches) {
      if (m.companyId) result.matched++;
      else notFound.add(m.accountId);
    }
  }
  const create = new Set<string>(config.companies.createTiers);
  const candidates = accounts.filter(
    (a) => notFound.has(a.accountId) && !a.shared && !shared.has(a.accountId) && create.has(a.tier),
  );
  // Accounts sharing a domain make one company: the first (by id) creates it, the others are
  // recorded as sharing (never created); a later search finds the company held by the first.
  const byDomain = new Map<string, UnmatchedAccount>();
  const toCreate: UnmatchedAccount[] = [];
  const sharing: CompanyMatch[] = [];
  for (const a of candidates) {
    const domain = a.domain ? normalizeDomain(a.domain) : "";
    if (domain && byDomain.has(domain))
      sharing.push({ accountId: a.accountId, companyId: null, matchedBy: "shared" });
    else {
      if (domain) byDomain.set(domain, a);
      toCreate.push(a);
    }
  }
  await recordMatches(db, sharing, now);
  await writeInBatches(http, toCreate, {
    ...companyUpsert,
    settled: async (outcome) => {
      // An upsert can answer with a company another account already holds (e.g. one created
      // before a lost answer, then found by a sharing account's domain): that account keeps it.
      const holders = await companyOwners(
        db,
        outcome.ok.map(({ result }) => result.id),
      );
      const mine = outcome.ok.filter(
        ({ item, result }) => (holders.get(result.id) ?? item.accountId) === item.accountId,
      );
      await recordMatches(
        db,
        [
          ...mine.map(
            ({ item, result }): CompanyMatch => ({
              accountId: item.accountId,
              companyId: result.id,
              matchedBy: "created",
              written: { [COMPANY.accountId]: item.accountId },
            }),
          ),
          ...outcome.ok
            .filter((o) => !mine.includes(o))
            .map(
              ({ item }): CompanyMatch => ({
                accountId: item.accountId,
                companyId: null,
                matchedBy: "shared",
              }),
            ),
        ],
        now,
      );
      result.created += mine.length;
      result.rejected += outcome.rejected.length;
      for (const { item } of mine) notFound.delete(item.accountId);
    },
  });
  result.unmatched = await unmatchedCount(db, config.companies.syncTiers);
  return result;
}

export function newCompany(a: UnmatchedAccount): Record<string, string> {
  // The account id goes in the properties as well as the upsert's idProperty, so the answer echoes it.
  const properties: Record<string, string> = {
    name: a.name ?? a.domain ?? a.accountId,
    [COMPANY.accountId]: a.accountId,
  };
  if (a.domain) properties.domain = normalizeDomain(a.domain);
  return properties;
}

/**
 * The search for companies with these (normalised) domains: the one request body the sync sends
 * and the preview shows. HubSpot compares values as stored, so each domain is also searched in
 * its www. form (a company saved as www.acme.com).
 */
export function domainSearch(domains: readonly string[], after?: string) {
  const values = [...new Set(domains.flatMap((d) => [d, `www.${d}`]))];
  return {
    method: "POST" as const,
    path: "/crm/v3/objects/companies/search",
    body: {
      filterGroups: [{ filters: [{ propertyName: "domain", operator: "IN", values }] }],
      properties: ["domain", "name", COMPANY.accountId, "hubspot_owner_id"],
      limit: SEARCH_PAGE,
      ...(after ? { after } : {}),
    },
  };
}

interface FoundCompany {
  id: string;
  /** Its HubSpot owner (hubspot_owner_id), read with the search at no extra cost. */
  ownerId: string | null;
}

/** Companies by normalised domain; where several companies share a domain, the oldest (lowest id). */
async function searchDomains(http: HubSpotHttp, domains: string[]): Promise<Map<string, FoundCompany>> {
  const found = new Map<string, FoundCompany>();
  let after: string | undefined;
  do {
    const { status, body } = await http.send<{
      results: CrmObject[];
      paging?: { next?: { after: string } };
    }>(domainSearch(domains, after));
    if (status !== 200) {
      throw rejectedAnswer("a company search by domain", status, body);
    }
    for (const company of body.results) {
      const domain = company.properties.domain ? normalizeDomain(company.properties.domain) : "";
      const known = found.get(domain);
      if (domain && (known === undefined || Number(company.id) < Number(known.id)))
        found.set(domain, { id: company.id, ownerId: company.properties.hubspot_owner_id || null });
    }
    after = body.paging?.next?.after;
  } while (after);
  return found;
}

export interface WriteResult {
  /** Companies whose changed properties were written. */
  written: number;
  /** Companies with nothing to write (no call made for them). */
  unchanged: number;
  rejected: { accountId: string; reason: string }[];
  /** Neither confirmed nor rejected: written again next cycle. */
  unconfirmed: number;
  /** Accounts whose company HubSpot no longer has (deleted or merged): forgotten, matched again. */
  gone: string[];
}

/**
 * Writes each matched company's changed properties, 100 companies per batch update. What
 * HubSpot accepted is recorded per company, so an unchanged company costs no call. `calibration`
 * is the current config's (read once per sync), or null: the probability properties are cleared.
 */
export async function writeCompanies(
  db: Database,
  http: HubSpotHttp,
  now: Date,
  states: readonly CompanyState[],
  calibration: StoredCalibration | null,
): Promise<WriteResult> {
  const pending = companyWrites(states, calibration);
  const result: WriteResult = {
    written: 0,
    unchanged: pending.unchanged,
    rejected: [],
    unconfirmed: 0,
    gone: [],
  };
  await writeInBatches(http, pending.writes, {
    ...companyUpdate,
    settled: async (outcome) => {
      await recordWritten(
        db,
        outcome.ok.map(({ item }) => item),
        now,
      );
      // A company deleted or merged in HubSpot is forgotten, so the account is matched again.
      const gone = outcome.rejected.filter(({ category }) => category === "OBJECT_NOT_FOUND");
      await forgetCompanies(
        db,
        gone.map(({ item }) => item.accountId),
      );
      result.gone.push(...gone.map(({ item }) => item.accountId));
      await recordRejected(
        db,
        outcome.rejected.filter((r) => !gone.includes(r)).map(({ item, reason }) => ({ ...item, reason })),
        now,
      );
      result.written += outcome.ok.length;
      result.unconfirmed += outcome.unconfirmed.length;
      result.rejected.push(
        ...outcome.rejected.map(({ item, reason }) => ({ accountId: item.accountId, reason })),
      );
    },
  });
  return result;
}

/**
 * After a claim in Slack the company's owner becomes the claimer: written on its own update (a
 * refused owner must not block the scores), 100 companies a call; a refused owner is recorded and
 * not sent again until the claimer's owner changes.
 */
export async function writeCompanyOwners(
  db: Database,
  http: HubSpotHttp,
  now: Date,
  states: readonly CompanyState[],
): Promise<{ written: number; rejected: { accountId: string; reason: string }[] }> {
  const writes = states.flatMap((state) => {
    const owner = ownerChange(state);
    return owner ? [{ accountId: state.accountId, companyId: state.companyId, owner }] : [];
  });
  const result = { written: 0, rejected: [] as { accountId: string; reason: string }[] };
  await writeInBatches(http, writes, {
    path: companyUpdate.path,
    key: (w) => w.companyId,
    input: (w) => ({ id: w.companyId, properties: { hubspot_owner_id: w.owner } }),
    resultKey: (r) => r.id,
    settled: async (outcome) => {
      await recordWritten(
        db,
        outcome.ok.map(({ item }) => ({
          accountId: item.accountId,
          properties: { hubspot_owner_id: item.owner },
        })),
        now,
      );
      await recordOwnerRejected(
        db,
        outcome.rejected.map(({ item, reason }) => ({
          accountId: item.accountId,
          ownerId: item.owner,
          reason,
        })),
        now,
      );
      result.written += outcome.ok.length;
      result.rejected.push(
        ...outcome.rejected.map(({ item, reason }) => ({ accountId: item.accountId, reason })),
      );
    },
  });
  return result;
}

/**
 * Reads the current owner of matched companies whose account has a routing waiting for its rep
 * (100 companies a call): the existing-owner rule then sees who owns the company now, also for
 * companies matched long ago or adopted from a stored id.
 */
export async function readCompanyOwners(db: Database, http: HubSpotHttp): Promise<number> {
  const companies = await companiesToReadOwners(db);
  let read = 0;
  await writeInBatches(http, companies, {
    path: "/crm/v3/objects/companies/batch/read",
    key: (c) => c.companyId,
    input: (c) => ({ id: c.companyId }),
    extra: { properties: ["hubspot_owner_id"] },
    resultKey: (r) => r.id,
    settled: async (outcome) => {
      await recordCompanyOwners(
        db,
        outcome.ok.map(({ item, result }) => ({
          accountId: item.accountId,
          ownerId: result.properties.hubspot_owner_id || null,
        })),
      );
      read += outcome.ok.length;
    },
  });
  return read;
}

export interface CompanyWrite {
  accountId: string;
  companyId: string;
  properties: Record<string, string>;
}

/** Per matched company, the properties that changed since the last successful write. */
export async function pendingCompanyWrites(
  db: Database,
  calibration: StoredCalibration | null,
): Promise<{ writes: CompanyWrite[]; unchanged: number }> {
  return companyWrites(await matchedCompanies(db), calibration);
}

/** The properties of `states` that changed since their last successful write. Pure. */
function companyWrites(
  states: readonly CompanyState[],
  calibration: StoredCalibration | null,
): { writes: CompanyWrite[]; unchanged: number } {
  const writes: CompanyWrite[] = [];
  let unchanged = 0;
  for (const state of states) {
    const properties = changedProperties(
      companyPropertyValues(state, calibration),
      state.written,
      state.rejected,
    );
    if (Object.keys(properties).length === 0) unchanged++;
    else writes.push({ accountId: state.accountId, companyId: state.companyId, properties });
  }
  return { writes, unchanged };
}
