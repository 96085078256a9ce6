import cron, { type ScheduledTask } from "node-cron";
import { cronIntervalMs } from "../cron-times.ts";
import { sendJson } from "../http/http-host.ts";
import { redactSecrets } from "../redact.ts";
import { lastSuccessfulCycle } from "../store/cycle-store.ts";
import { type CycleOptions, type CycleResult, runCycle } from "./jobs/cycle.ts";
import type { Runtime } from "./runtime.ts";

export interface Worker {
  /** The cycle running now, if any. */
  readonly running: Promise<CycleResult | null> | null;
  /**
   * Stops scheduling; waits up to `timeoutMs` for the cycle in progress. Returns whether one was
   * abandoned (safe: every stage is crash-safe and the next cycle marks it interrupted).
   */
  stop(timeoutMs: number): Promise<{ abandoned: boolean }>;
}

/**
 * The scheduled worker: the cycle on `schedule.cron` (node-cron; a sixth, seconds field is
 * allowed), never overlapping itself, and across replicas one cycle at a time (the cycle's own
 * database lock: a replica that finds it held skips that tick). Before each cycle the config file
 * is read again: a valid change applies from this cycle on (a new schedule included); an invalid
 * file is refused, logged and shown in /readyz, and the last good config stays in force.
 * Mounts `GET /readyz` on the runtime's HTTP server.
 */
export function startWorker(rt: Runtime, options: CycleOptions = {}): Worker {
  const { log } = rt;
  const startedAt = rt.clock.now();
  let configError: string | null = null;
  let running: Promise<CycleResult | null> | null = null;
  let stopping = false;
  let task: ScheduledTask | null = null;
  let schedule = "";

  const tick = async (): Promise<CycleResult | null> => {
    if (stopping) return null;
    const reload = rt.reloadConfig();
    rt.metrics.configRefused(reload.error !== null);
    if (reload.error) {
      configError = reload.error.message;
      log.error(
        { problems: reload.error.problems },
        "config file refused: the last good config stays in force",
      );
    } else {
      configError = null;
      if (reload.changed) log.info({ version: rt.config.version }, "config reloaded");
    }
    reschedule();
    const result = await runCycle(rt, options);
    if (result.status === "busy") log.debug("another replica runs the cycle: skipped");
    else
      log.info(
        {
          cycle: result.cycleId,
          status: result.status,
          durationMs: result.durationMs,
          stages: result.stages.map((s) => `${s.stage}:${s.status}`).join(" "),
        },
        "cycle done",
      );
    return result;
  };

  const onTick = () => {
    if (running || stopping) {
      if (running) log.warn("the previous cycle is still running: this tick is skipped");
      return;
    }
    running = tick()
      .catch((error: Error) => {
        log.error({ err: error.message }, "cycle crashed");
        return null;
      })
      .finally(() => {
        running = null;
      });
  };

  const reschedule = () => {
    const { cron: expr, timezone } = rt.config.config.schedule;
    const next = `${expr}|${timezone}`;
    if (next === schedule || stopping) return;
    task?.stop();
    schedule = next;
    task = cron.schedule(expr, onTick, { timezone, name: "pql-router-cycle" });
    log.info({ cron: expr, timezone }, "cycle scheduled");
  };
  reschedule();

  rt.http.route("GET", "/readyz", async (_req, res) => {
    const problems: string[] = [];
    let last: Date | null = null;
    try {
      last = await lastSuccessfulCycle(rt.db);
    } catch (error) {
      problems.push(`database: ${redactSecrets((error as Error).message)}`);
    }
    if (configError) problems.push(`config: ${configError}`);
    const { cron: expr, timezone } = rt.config.config.schedule;
    const interval = cronIntervalMs(expr, timezone, new Date(rt.clock.now()));
    // Before any success, the process's start is the reference (a new worker gets its chance).
    if (rt.clock.now() - (last?.getTime() ?? startedAt) > 3 * interval)
      problems.push(
        last
          ? `last successful cycle ${last.toISOString()}, older than 3 x the schedule interval`
          : "no successful cycle yet, 3 x the schedule interval after start",
      );
    sendJson(res, problems.length ? 503 : 200, {
      ready: problems.length === 0,
      lastSuccessfulCycle: last?.toISOString() ?? null,
      configVersion: rt.config.version,
      problems,
    });
  });

  return {
    get running() {
      return running;
    },
    async stop(timeoutMs) {
      stopping = true;
      task?.stop();
      const current = running;
      if (!current) return { abandoned: false };
      const finished = await Promise.race([
        current.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
      ]);
      return { abandoned: !finished };
    },
  };
}
