import type { Database } from "../../store/database.ts";
import { cachedOwners, cacheOwners } from "../../store/hubspot-store.ts";
import { type HubSpotHttp, rejectedAnswer } from "./hubspot-http.ts";

/** The owners list is read again at most this often when an email is not in it. */
const REFRESH_AFTER_MS = 3_600_000;

/**
 * HubSpot owner ids for `emails` (lower-cased keys), from the cache; the owners API is read
 * (all owners, 500 per page) only when an email is missing and the cache is older than an hour.
 */
export async function resolveOwners(
  db: Database,
  http: HubSpotHttp,
  emails: readonly string[],
  now: Date,
): Promise<Map<string, string>> {
  const wanted = [...new Set(emails.map((e) => e.toLowerCase()))];
  if (wanted.length === 0) return new Map();
  let { owners, fetchedAt } = await cachedOwners(db);
  const missing = wanted.some((e) => !owners.has(e));
  if (missing && (fetchedAt === null || now.getTime() - fetchedAt.getTime() > REFRESH_AFTER_MS)) {
    owners = await listOwners(http);
    await cacheOwners(db, owners, now);
  }
  return new Map(wanted.flatMap((e) => (owners.has(e) ? [[e, owners.get(e) as string]] : [])));
}

async function listOwners(http: HubSpotHttp): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  let after: string | undefined;
  do {
    const { status, body } = await http.send<{
      results: { id: string; email?: string; archived?: boolean }[];
      paging?: { next?: { after: string } };
    }>({ method: "GET", path: "/crm/v3/owners", qs: { limit: "500", ...(after ? { after } : {}) } });
    if (status !== 200) {
      throw rejectedAnswer(
        "the owners list",
        status,
        body,
        "the private app needs the crm.objects.owners.read scope",
      );
    }
    for (const owner of body.results) {
      if (owner.email && !owner.archived) owners.set(owner.email.toLowerCase(), owner.id);
    }
    after = body.paging?.next?.after;
  } while (after);
  return owners;
}
