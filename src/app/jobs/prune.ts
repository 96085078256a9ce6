import type { PqlConfig } from "../../config/schema.ts";
import { historyRead } from "../../config/windows.ts";
import { UsageError } from "../../errors.ts";
import { finishCycleRun, startCycleRun } from "../../store/cycle-store.ts";
import { withJobLock } from "../../store/job-lock.ts";
import { countPrunable, type PruneCounts, pruneMessages } from "../../store/prune.ts";
import { lastScorePass } from "../../store/score-store.ts";
import type { JobContext } from "../runtime.ts";

const DAY_MS = 86_400_000;

/**
 * Where a prune `olderThanDays` back from `now` cuts, pure: never inside the history the scoring
 * reads (refused), and never after what the next incremental pass still compares with (twice the
 * longest window before the last pass's as-of, when that pass lies further back).
 */
export function pruneCutoff(
  config: PqlConfig,
  olderThanDays: number,
  now: Date,
  lastPassAsOf: Date | null,
): { cutoff: Date; minimumDays: number; heldBack: string | null } {
  const minimum = historyRead(config);
  if (olderThanDays < minimum.days) {
    throw new UsageError(
      `--older-than: ${olderThanDays}d is shorter than the history the scoring reads: ${minimum.days}d, ${minimum.name}`,
    );
  }
  const wanted = now.getTime() - olderThanDays * DAY_MS;
  const forPass = lastPassAsOf ? lastPassAsOf.getTime() - minimum.days * DAY_MS : wanted;
  if (forPass < wanted) {
    return {
      cutoff: new Date(forPass),
      minimumDays: minimum.days,
      heldBack: `the last scoring pass (as of ${lastPassAsOf?.toISOString()}) still compares with messages from ${new Date(forPass).toISOString()}`,
    };
  }
  return { cutoff: new Date(wanted), minimumDays: minimum.days, heldBack: null };
}

export interface PruneResult {
  olderThanDays: number;
  /** Messages with a timestamp before this were deleted (or would be, with dryRun). */
  cutoff: string;
  /** The shortest --older-than the config allows. */
  minimumDays: number;
  /** Why the cutoff is earlier than --older-than asked, when it is. */
  heldBack: string | null;
  dryRun: boolean;
  deleted: { messages: number; unattributed: number };
  /** New rows in pruned_message_times: the first and last times kept per account and event. */
  summaries: number;
  durationMs: number;
}

export interface PruneOptions {
  olderThanDays: number;
  dryRun?: boolean;
  batchSize?: number;
  onProgress?: (deleted: number, total: number) => void;
}

/**
 * Deletes raw messages older than `olderThanDays` that no window, trend or incremental pass still
 * needs, keeping per account and event the first and last time seen and the count
 * (pruned_message_times). First-seen dates and activation read message_times, which keeps every
 * message's times whether pruned or not. Snapshots, routings, claims and outcomes are not touched.
 * Recorded as a `prune` cycle run with its cutoff.
 */
export async function runPrune(rt: JobContext, options: PruneOptions): Promise<PruneResult> {
  const { db, clock } = rt;
  const started = clock.now();
  const last = await lastScorePass(db);
  const { cutoff, minimumDays, heldBack } = pruneCutoff(
    rt.config.config,
    options.olderThanDays,
    new Date(started),
    last?.asOf ?? null,
  );
  const dryRun = options.dryRun === true;
  const result = (counts: PruneCounts): PruneResult => ({
    olderThanDays: options.olderThanDays,
    cutoff: cutoff.toISOString(),
    minimumDays,
    heldBack,
    dryRun,
    deleted: { messages: counts.messages, unattributed: counts.unattributed },
    summaries: counts.summaries,
    durationMs: clock.now() - started,
  });
  if (dryRun) return result(await countPrunable(db, cutoff));
  return withJobLock(db, "prune", async () => {
    const runId = await startCycleRun(db, "prune", new Date(started), { cutoff: cutoff.toISOString() });
    try {
      const total = options.onProgress ? await countPrunable(db, cutoff) : null;
      const counts = await pruneMessages(db, cutoff, {
        batchSize: options.batchSize,
        onBatch: (done) =>
          options.onProgress?.(
            done.messages + done.unattributed,
            (total?.messages ?? 0) + (total?.unattributed ?? 0),
          ),
      });
      const out = result(counts);
      await finishCycleRun(db, runId, {
        status: "ok",
        endedAt: new Date(clock.now()),
        stats: out,
        errors: [],
      });
      return out;
    } catch (error) {
      await finishCycleRun(db, runId, {
        status: "failed",
        endedAt: new Date(clock.now()),
        stats: { cutoff: cutoff.toISOString() },
        errors: [{ message: (error as Error).message }],
      });
      throw error;
    }
  });
}
