import { IntegrationError } from "../../errors.ts";
import {
  matchCompanies,
  readCompanyOwners,
  writeCompanies,
  writeCompanyOwners,
} from "../../integrations/hubspot/company-sync.ts";
import type { HubSpotCallStats, HubSpotHttp } from "../../integrations/hubspot/hubspot-http.ts";
import { resolveOwners } from "../../integrations/hubspot/owners.ts";
import { syncTaskOwners, syncTasks } from "../../integrations/hubspot/task-sync.ts";
import { latestCalibration } from "../../store/calibration-store.ts";
import { finishCycleRun, startCycleRun } from "../../store/cycle-store.ts";
import { claimerEmails, clearRejections, matchedCompanies } from "../../store/hubspot-store.ts";
import { withJobLock } from "../../store/job-lock.ts";
import type { JobContext } from "../runtime.ts";
import { assignRoutings } from "./assign-routings.ts";

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
  /** Tasks whose owner became the rep who claimed the account in Slack. */
  tasksReassigned: number;
  /** Companies whose owner became the rep who claimed the account in Slack. */
  companyOwnersWritten: number;
  /** Set in shadow mode (`slack.shadow`): nothing was sent to HubSpot. */
  skipped: string | null;
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

export interface HubSpotSyncOptions {
  /** Send again what HubSpot rejected before (after fixing the cause, e.g. an owner or a property). */
  retryRejected?: boolean;
}

/**
 * One HubSpot sync: match companies, write changed company properties, create the tasks of new
 * routing decisions. Everything pending is derived from the database, so what a failed or
 * interrupted sync did not write simply goes out with the next one. HubSpot being down stops
 * this sync only (`stoppedBy`), never scoring or Slack. `http` comes from `withHubSpot`.
 */
export function syncHubSpot(
  rt: JobContext,
  http: HubSpotHttp,
  options: HubSpotSyncOptions = {},
): Promise<HubSpotSyncResult> {
  return withJobLock(rt.db, "HubSpot sync", () => syncLocked(rt, http, options));
}

async function syncLocked(
  rt: JobContext,
  http: HubSpotHttp,
  options: HubSpotSyncOptions,
): Promise<HubSpotSyncResult> {
  const { db, clock } = rt;
  const config = rt.config.config;
  const started = clock.now();
  const now = new Date(started);
  const statsBefore = { ...http.stats };
  const runId = await startCycleRun(db, "hubspot", now);
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
    tasksReassigned: 0,
    companyOwnersWritten: 0,
    skipped: null,
    calls: 0,
    retries: 0,
    rateLimited: 0,
    failed: 0,
    failures: [],
    stoppedBy: null,
    durationMs: 0,
  };
  const finish = (error?: unknown) => finishSync(rt, runId, result, http, statsBefore, started, error);
  try {
    if (config.slack.shadow) {
      result.skipped = `shadow mode (slack.shadow: ${config.slack.shadow.channel}): nothing is written to HubSpot`;
      await finish();
      return result;
    }
    if (options.retryRejected) await clearRejections(db);
    const matched = await matchCompanies(db, http, config.hubspot, now);
    result.companiesMatched = matched.matched;
    result.companiesCreated = matched.created;
    result.companiesUnmatched = matched.unmatched;
    // Routings get their rep now that company owners are read (an owner who is a rep keeps it).
    await readCompanyOwners(db, http);
    await assignRoutings(rt, now);
    // A claimer's owner id (by email) is known before company owners are written.
    await resolveOwners(db, http, await claimerEmails(db), now);
    // One read of the matched companies serves both writes: the score properties' write does
    // not change what the owners' write looks at, except companies HubSpot no longer has.
    const states = await matchedCompanies(db);
    // Read once per sync: the probability beside each score, cleared when the config has none.
    const calibration = await latestCalibration(db, rt.config.version);
    const written = await writeCompanies(db, http, now, states, calibration);
    const gone = new Set(written.gone);
    const owners = await writeCompanyOwners(
      db,
      http,
      now,
      states.filter((s) => !gone.has(s.accountId)),
    );
    result.companyOwnersWritten = owners.written;
    for (const r of owners.rejected) result.failures.push({ ...r, what: "company" });
    result.companiesWritten = written.written;
    result.companiesUnchanged = written.unchanged;
    for (const r of written.rejected) result.failures.push({ ...r, what: "company" });
    const tasks = await syncTasks(db, http, config, now, calibration);
    result.tasksCreated = tasks.created;
    result.tasksRecovered = tasks.recovered;
    result.tasksWaiting = tasks.waiting;
    result.tasksSkipped = tasks.skipped;
    for (const r of tasks.rejected) result.failures.push({ ...r, what: "task" });
    const taskOwners = await syncTaskOwners(db, http, now);
    result.tasksReassigned = taskOwners.updated;
    for (const r of taskOwners.rejected) result.failures.push({ ...r, what: "task" });
  } catch (error) {
    if (
      !(error instanceof IntegrationError) ||
      error.code === "hubspot_auth" ||
      error.code === "hubspot_rejected"
    ) {
      await finish(error);
      throw error;
    }
    result.stoppedBy = error.message;
    rt.log.warn({ err: error.message }, "HubSpot sync stopped early; pending writes stay queued");
  }
  await finish();
  return result;
}

async function finishSync(
  rt: JobContext,
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
  result.durationMs = rt.clock.now() - started;
  await finishCycleRun(rt.db, runId, {
    status: error ? "failed" : result.stoppedBy ? "partial" : "ok",
    endedAt: new Date(rt.clock.now()),
    stats: { ...result, failures: result.failures.slice(0, 100) },
    errors: error
      ? [{ message: (error as Error).message }]
      : result.stoppedBy
        ? [{ message: result.stoppedBy }]
        : [],
  });
}
