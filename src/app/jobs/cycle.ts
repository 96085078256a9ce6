import os from "node:os";
import type { Settings } from "../../config/settings.ts";
import { latestCronTime } from "../../cron-times.ts";
import type { IntegrationError } from "../../errors.ts";
import { redactSecrets } from "../../redact.ts";
import { finishCycleRun, markInterrupted, startCycleRun, withinCycle } from "../../store/cycle-store.ts";
import { tryJobLock } from "../../store/job-lock.ts";
import { withHubSpot } from "../hubspot-connection.ts";
import type { Metrics } from "../metrics.ts";
import type { JobContext } from "../runtime.ts";
import { slackApiFor } from "../slack-app.ts";
import { syncOutcomes } from "./hubspot-outcomes.ts";
import { syncHubSpot } from "./hubspot-sync.ts";
import { runScorePass } from "./score-pass.ts";
import { postToSlack } from "./slack-post.ts";

export type StageName = "score" | "hubspot" | "slack" | "outcomes";

export interface StageResult {
  stage: StageName;
  /** ok; partial (stopped early, the rest queued); failed; skipped (not configured or not due). */
  status: "ok" | "partial" | "failed" | "skipped";
  durationMs: number;
  /** The stage's main figures. */
  counts: Record<string, number>;
  /** Why it failed, stopped early or was skipped. */
  error: string | null;
}

export interface CycleResult {
  /** The cycle's id in `cycle_runs` (null when another replica held the cycle). */
  cycleId: string | null;
  /** ok: every stage ok or skipped; failed: a stage failed or stopped early; busy: another process runs a cycle. */
  status: "ok" | "failed" | "busy";
  stages: StageResult[];
  /** Cycles found interrupted (their process died) and marked so. */
  interrupted: number;
  startedAt: string;
  durationMs: number;
}

export interface CycleOptions {
  /** Test-only fault hook: wait this long before the named stage (PQL_TEST_STAGE_DELAY). */
  delayBefore?: { stage: StageName; ms: number };
}

/**
 * One scheduled cycle: the scoring pass (incremental, routing), the HubSpot sync, Slack posting,
 * and outcomes from HubSpot when `schedule.outcomesCron` says they are due. One cycle at a time
 * per database (any number of worker replicas take turns; a busy cycle returns at once). Each
 * stage is isolated: one that fails is recorded and the next still runs; everything not done
 * stays queued for the next cycle. Recorded in `cycle_runs` (kind `cycle`, its jobs as children).
 */
export async function runCycle(
  rt: JobContext & { settings: Settings; metrics?: Metrics },
  options: CycleOptions = {},
): Promise<CycleResult> {
  const started = rt.clock.now();
  const outcome = await tryJobLock(rt.db, "scheduled cycle", async () => {
    const now = new Date(rt.clock.now());
    const interrupted = await markInterrupted(rt.db, now);
    const holder = `${os.hostname()}:${process.pid}`;
    const cycleId = await startCycleRun(rt.db, "cycle", now, { holder });
    const stages = await withinCycle(cycleId, () => runStages(rt, options));
    const failed = stages.some((s) => s.status === "failed" || s.status === "partial");
    await finishCycleRun(rt.db, cycleId, {
      status: failed ? "failed" : "ok",
      endedAt: new Date(rt.clock.now()),
      stats: { holder, stages },
      errors: stages.flatMap((s) =>
        s.error && s.status !== "skipped" ? [{ message: `${s.stage}: ${s.error}` }] : [],
      ),
    });
    return { cycleId, stages, interrupted, failed };
  });
  const base = { startedAt: new Date(started).toISOString(), durationMs: rt.clock.now() - started };
  if (!outcome.ran) return { cycleId: null, status: "busy", stages: [], interrupted: 0, ...base };
  const { cycleId, stages, interrupted, failed } = outcome.value;
  const result: CycleResult = {
    cycleId: String(cycleId),
    status: failed ? "failed" : "ok",
    stages,
    interrupted,
    ...base,
  };
  rt.metrics?.cycle(result);
  return result;
}

async function runStages(
  rt: JobContext & { settings: Settings; metrics?: Metrics },
  options: CycleOptions,
): Promise<StageResult[]> {
  const { settings } = rt;
  const stages: StageResult[] = [];
  const stage = async (
    name: StageName,
    skip: string | null,
    work: () => Promise<{ counts: Record<string, number>; stoppedBy?: string | null }>,
  ) => {
    const started = rt.clock.now();
    if (skip) {
      stages.push({ stage: name, status: "skipped", durationMs: 0, counts: {}, error: skip });
      return;
    }
    rt.log.info({ stage: name }, "stage started");
    if (options.delayBefore?.stage === name) await rt.clock.sleep(options.delayBefore.ms);
    try {
      const { counts, stoppedBy } = await work();
      stages.push({
        stage: name,
        status: stoppedBy ? "partial" : "ok",
        durationMs: rt.clock.now() - started,
        counts,
        error: stoppedBy ?? null,
      });
    } catch (error) {
      const message = redactSecrets(error instanceof Error ? error.message : String(error));
      rt.log.error(
        { stage: name, err: message, code: (error as IntegrationError).code },
        "cycle stage failed",
      );
      stages.push({
        stage: name,
        status: "failed",
        durationMs: rt.clock.now() - started,
        counts: {},
        error: message,
      });
    }
  };

  await stage("score", null, async () => {
    const pass = await runScorePass(rt, { route: true });
    return {
      counts: {
        accounts: pass.accounts,
        scored: pass.scored,
        hot: pass.tiers.hot,
        warm: pass.tiers.warm,
        routed: pass.routed,
      },
    };
  });
  const hubspot = settings.hubspotAccessToken ? null : "HUBSPOT_ACCESS_TOKEN is not set";
  await stage("hubspot", hubspot, async () => {
    const r = await withHubSpot(rt, (http) => syncHubSpot(rt, http));
    return {
      counts: {
        companiesMatched: r.companiesMatched,
        companiesWritten: r.companiesWritten,
        tasksCreated: r.tasksCreated,
        tasksReassigned: r.tasksReassigned,
        calls: r.calls,
        rateLimited: r.rateLimited,
        failed: r.failed,
      },
      stoppedBy: r.stoppedBy,
    };
  });
  const slack = slackApiFor(settings, rt.log, rt.metrics);
  await stage("slack", slack ? null : "SLACK_BOT_TOKEN is not set", async () => {
    const r = await postToSlack(rt, slack as NonNullable<typeof slack>, {
      postIntervalMs: settings.slackPostIntervalMs,
    });
    return {
      counts: {
        posted: r.posted,
        updated: r.updated,
        escalated: r.escalated,
        pending: r.pending,
        rateLimited: r.rateLimited,
        failed: r.failed,
      },
      stoppedBy: r.stoppedBy,
    };
  });
  const due = hubspot ?? (await outcomesDue(rt));
  await stage("outcomes", due, async () => {
    const startedAt = new Date(rt.clock.now());
    const runId = await startCycleRun(rt.db, "outcomes", startedAt);
    try {
      const r = await withHubSpot(rt, (http) => syncOutcomes(rt, http));
      await finishCycleRun(rt.db, runId, { status: "ok", endedAt: new Date(rt.clock.now()), stats: r });
      return { counts: { companies: r.companies, converted: r.converted, notConverted: r.notConverted } };
    } catch (error) {
      await finishCycleRun(rt.db, runId, {
        status: "failed",
        endedAt: new Date(rt.clock.now()),
        errors: [{ message: redactSecrets((error as Error).message) }],
      });
      throw error;
    }
  });
  return stages;
}

/** null when outcomes are due (no successful read since the latest `outcomesCron` time), else why not. */
async function outcomesDue(rt: JobContext): Promise<string | null> {
  const config = rt.config.config;
  const now = new Date(rt.clock.now());
  const fire = latestCronTime(config.schedule.outcomesCron, config.schedule.timezone, now);
  const { rows } = await rt.db.sql.query<{ at: Date | null }>(
    "SELECT max(started_at) AS at FROM cycle_runs WHERE kind = 'outcomes' AND status = 'ok'",
  );
  const last = rows[0]?.at ? new Date(rows[0].at) : null;
  return last && last >= fire
    ? `read at ${last.toISOString()}; next after ${config.schedule.outcomesCron}`
    : null;
}
