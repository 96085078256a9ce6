import type { Logger } from "pino";
import type { PqlConfig } from "../../config/schema.ts";
import { IntegrationError } from "../../errors.ts";
import { finishCycleRun, startCycleRun } from "../../store/cycle-store.ts";
import type { Database } from "../../store/database.ts";
import {
  addUsage,
  clearRejections,
  pendingTasks,
  unmatchedAccounts,
  usageOn,
} from "../../store/hubspot-store.ts";
import { withJobLock } from "../../store/job-lock.ts";
import { BATCH_SIZE } from "./batch-write.ts";
import {
  DOMAINS_PER_SEARCH,
  domainSearch,
  matchCompanies,
  newCompany,
  normalizeDomain,
  pendingCompanyWrites,
  writeCompanies,
} from "./company-sync.ts";
import {
  createHubSpotHttp,
  type HubSpotCallStats,
  type HubSpotHttp,
  type HubSpotLimits,
} from "./hubspot-http.ts";
import { COMPANY, setupPayloads } from "./properties.ts";
import { taskInput } from "./task-payload.ts";
import { syncTasks } from "./task-sync.ts";

export interface HubSpotSyncResult {
  companiesMatched: number;
  companiesCreated: number;
  companiesWritten: number;
  /** Matched companies whose values did not change: no call was made for them. */
  companiesUnchanged: number;
  /** Accounts in the sync tiers with no HubSpot company (not found, not created). */
  companiesUnmatched: number;
  tasksCreated: number;
  /** Tasks found by routing key after an unconfirmed create: recorded, not created again. */
  tasksRecovered: number;
  /** Routed accounts whose task waits for their company to be matched. */
  tasksWaiting: number;
  /** Routings older than `hubspot.tasks.maxAgeHours` when first sent: recorded as skipped, no task. */
  tasksSkipped: number;
  /** HTTP requests made, retries included. */
  calls: number;
  retries: number;
  rateLimited: number;
  /** Records HubSpot rejected (4xx): recorded against the record, not retried until they change. */
  failed: number;
  failures: { accountId: string; what: "company" | "task"; reason: string }[];
  /** Set when the sync stopped early (HubSpot unreachable, daily budget used): the rest stays queued. */
  stoppedBy: string | null;
  durationMs: number;
}

/**
 * One HubSpot sync: match companies, write changed company properties, create the tasks of new
 * routing decisions. Everything pending is derived from the database, so what a failed or
 * interrupted sync did not write simply goes out with the next one. HubSpot being down stops
 * this sync only (`stoppedBy`), never scoring or Slack.
 */
export interface HubSpotSyncOptions {
  db: Database;
  http: HubSpotHttp;
  config: PqlConfig;
  now: Date;
  log?: Logger;
  /** Send again what HubSpot rejected before (after fixing the cause, e.g. an owner or a property). */
  retryRejected?: boolean;
}

export function syncHubSpot(options: HubSpotSyncOptions): Promise<HubSpotSyncResult> {
  return withJobLock(options.db, "HubSpot sync", () => syncLocked(options));
}

async function syncLocked(options: HubSpotSyncOptions): Promise<HubSpotSyncResult> {
  const { db, http, config, now } = options;
  const started = Date.now();
  const statsBefore = { ...http.stats };
  const runId = await startCycleRun(db, "hubspot", new Date(started));
  const result: HubSpotSyncResult = {
    companiesMatched: 0,
    companiesCreated: 0,
    companiesWritten: 0,
    companiesUnchanged: 0,
    companiesUnmatched: 0,
    tasksCreated: 0,
    tasksRecovered: 0,
    tasksWaiting: 0,
    tasksSkipped: 0,
    calls: 0,
    retries: 0,
    rateLimited: 0,
    failed: 0,
    failures: [],
    stoppedBy: null,
    durationMs: 0,
  };
  try {
    if (options.retryRejected) await clearRejections(db);
    const matched = await matchCompanies(db, http, config.hubspot, now);
    result.companiesMatched = matched.matched;
    result.companiesCreated = matched.created;
    result.companiesUnmatched = matched.unmatched.length;
    const written = await writeCompanies(db, http, now);
    result.companiesWritten = written.written;
    result.companiesUnchanged = written.unchanged;
    for (const r of written.rejected) result.failures.push({ ...r, what: "company" });
    const tasks = await syncTasks(db, http, config, now);
    result.tasksCreated = tasks.created;
    result.tasksRecovered = tasks.recovered;
    result.tasksWaiting = tasks.waiting;
    result.tasksSkipped = tasks.skipped;
    for (const r of tasks.rejected) result.failures.push({ ...r, what: "task" });
  } catch (error) {
    if (
      !(error instanceof IntegrationError) ||
      error.code === "hubspot_auth" ||
      error.code === "hubspot_rejected"
    ) {
      await finish(db, runId, result, http, statsBefore, started, error);
      throw error;
    }
    result.stoppedBy = error.message;
    options.log?.warn({ err: error.message }, "HubSpot sync stopped early; pending writes stay queued");
  }
  await finish(db, runId, result, http, statsBefore, started);
  return result;
}

async function finish(
  db: Database,
  runId: bigint,
  result: HubSpotSyncResult,
  http: HubSpotHttp,
  before: HubSpotCallStats,
  started: number,
  error?: unknown,
): Promise<void> {
  // This sync's calls only: the client may have served others before.
  result.calls = http.stats.calls - before.calls;
  result.retries = http.stats.retries - before.retries;
  result.rateLimited = http.stats.rateLimited - before.rateLimited;
  result.failed = result.failures.length;
  result.durationMs = Date.now() - started;
  await finishCycleRun(db, runId, {
    status: error ? "failed" : result.stoppedBy ? "partial" : "ok",
    endedAt: new Date(),
    stats: { ...result, failures: result.failures.slice(0, 100) },
    errors: error
      ? [{ message: (error as Error).message }]
      : result.stoppedBy
        ? [{ message: result.stoppedBy }]
        : [],
  });
}

/**
 * A HubSpot client for `db`'s installation: the request budgets from the settings, with the
 * calls already made today (by any process) counted against the daily budget. `done` records
 * this client's calls.
 */
export async function connectHubSpot(
  db: Database,
  settings: { accessToken: string; baseUrl: string; limits: HubSpotLimits },
  log?: Logger,
): Promise<{ http: HubSpotHttp; done: () => Promise<void> }> {
  const day = new Date().toISOString().slice(0, 10);
  const usedBefore = await usageOn(db, day);
  const http = createHubSpotHttp({ ...settings, usedToday: usedBefore, ...(log ? { log } : {}) });
  let recorded = 0;
  return {
    http,
    done: async () => {
      await addUsage(db, day, http.stats.calls - recorded);
      recorded = http.stats.calls;
    },
  };
}

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
 * The requests a sync would send, built from the database alone (no token needed): property
 * setup, domain searches for unmatched accounts, creates for the create tiers (assuming no
 * match), changed-property updates for matched companies, and task creates (a company not
 * matched yet shows as "<company of ACCOUNT>"). Writes nothing.
 */
export async function previewHubSpot(db: Database, config: PqlConfig): Promise<PreviewRequest[]> {
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
      method: "POST",
      path: "/crm/v3/objects/companies/search",
      body: domainSearch(slice),
      records: slice.length,
      purpose: "match accounts to companies by domain",
    });
  }
  const creates = unmatched.filter((a) => config.hubspot.companies.createTiers.includes(a.tier as "hot"));
  for (let i = 0; i < creates.length; i += BATCH_SIZE) {
    requests.push({
      method: "POST",
      path: "/crm/v3/objects/companies/batch/upsert",
      body: {
        inputs: creates
          .slice(i, i + BATCH_SIZE)
          .map((a) => ({ idProperty: COMPANY.accountId, id: a.accountId, properties: newCompany(a) })),
      },
      records: Math.min(BATCH_SIZE, creates.length - i),
      purpose: "create companies for unmatched accounts in the create tiers (if the search finds none)",
    });
  }
  const { writes } = await pendingCompanyWrites(db);
  for (let i = 0; i < writes.length; i += BATCH_SIZE) {
    requests.push({
      method: "POST",
      path: "/crm/v3/objects/companies/batch/update",
      body: {
        inputs: writes.slice(i, i + BATCH_SIZE).map((w) => ({ id: w.companyId, properties: w.properties })),
      },
      records: Math.min(BATCH_SIZE, writes.length - i),
      purpose: "write changed scores to matched companies",
    });
  }
  const tasks = await pendingTasks(db);
  for (let i = 0; i < tasks.length; i += BATCH_SIZE) {
    requests.push({
      method: "POST",
      path: "/crm/v3/objects/tasks/batch/create",
      body: {
        inputs: tasks
          .slice(i, i + BATCH_SIZE)
          .map((t) => taskInput(t, t.companyId ?? `<company of ${t.accountId}>`, config.hubspot, undefined)),
      },
      records: Math.min(BATCH_SIZE, tasks.length - i),
      purpose: "one task per routed account, associated with its company",
    });
  }
  return requests;
}
