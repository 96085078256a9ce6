import { batchBody, inBatches } from "../../integrations/hubspot/batch-write.ts";
import {
  companyUpdate,
  companyUpsert,
  DOMAINS_PER_SEARCH,
  domainSearch,
  normalizeDomain,
  pendingCompanyWrites,
} from "../../integrations/hubspot/company-sync.ts";
import { setupPayloads } from "../../integrations/hubspot/property-definitions.ts";
import { taskInput } from "../../integrations/hubspot/task-payload.ts";
import { TASK_CREATE_PATH } from "../../integrations/hubspot/task-sync.ts";
import { latestCalibration } from "../../store/calibration-store.ts";
import { pendingTasks, unmatchedAccounts } from "../../store/hubspot-store.ts";
import type { Runtime } from "../runtime.ts";

export interface PreviewRequest {
  method: "POST";
  path: string;
  body: unknown;
  /** Records it carries (companies, tasks, properties), or domains it looks up. */
  records: number;
  /** Why this request would be made, in plain words. */
  purpose: string;
}

/**
 * The requests a sync would send, built from the database alone (no token needed) by the same
 * builders the sync uses: property setup, domain searches for unmatched accounts, creates for the
 * create tiers (assuming no match), changed-property updates for matched companies, and task
 * creates (a company not matched yet shows as "<company of ACCOUNT>"). Writes nothing.
 */
export async function previewHubSpot(rt: Pick<Runtime, "db" | "config">): Promise<PreviewRequest[]> {
  const { db } = rt;
  const config = rt.config.config;
  const requests: PreviewRequest[] = setupPayloads().map((r) => ({
    ...r,
    records: (r.body as { inputs?: unknown[] }).inputs?.length ?? 1,
    purpose: "setup (only what is missing is created)",
  }));
  const unmatched = await unmatchedAccounts(db, config.hubspot.companies.syncTiers);
  const domains = unmatched.flatMap((a) => (a.domain ? [normalizeDomain(a.domain)] : []));
  for (let i = 0; i < domains.length; i += DOMAINS_PER_SEARCH) {
    const slice = domains.slice(i, i + DOMAINS_PER_SEARCH);
    requests.push({
      ...domainSearch(slice),
      records: slice.length,
      purpose: "match accounts to companies by domain",
    });
  }
  const creates = unmatched.filter((a) => config.hubspot.companies.createTiers.includes(a.tier as "hot"));
  for (const batch of inBatches(creates)) {
    requests.push({
      method: "POST",
      path: companyUpsert.path,
      body: batchBody(companyUpsert, batch),
      records: batch.length,
      purpose: "create companies for unmatched accounts in the create tiers (if the search finds none)",
    });
  }
  const calibration = await latestCalibration(db, rt.config.version);
  const { writes } = await pendingCompanyWrites(db, calibration);
  for (const batch of inBatches(writes)) {
    requests.push({
      method: "POST",
      path: companyUpdate.path,
      body: batchBody(companyUpdate, batch),
      records: batch.length,
      purpose: "write changed scores to matched companies",
    });
  }
  const tasks = await pendingTasks(db);
  const taskCreate = {
    input: (t: (typeof tasks)[number]) =>
      taskInput(t, t.companyId ?? `<company of ${t.accountId}>`, config.hubspot, undefined, calibration),
  };
  for (const batch of inBatches(tasks)) {
    requests.push({
      method: "POST",
      path: TASK_CREATE_PATH,
      body: batchBody(taskCreate, batch),
      records: batch.length,
      purpose: "one task per routed account, associated with its company",
    });
  }
  return requests;
}
