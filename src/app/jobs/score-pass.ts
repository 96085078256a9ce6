import { scoringWindows } from "../../config/windows.ts";
import { routeNewlyHot } from "../../routing/route-newly-hot.ts";
import type { AccountFeatures } from "../../signals/account-features.ts";
import { personaMatcher } from "../../signals/persona.ts";
import { scoreAccount, type Tier } from "../../signals/score-account.ts";
import { openSource, type SignalSource } from "../../sources/signal-source.ts";
import { finishCycleRun, startCycleRun } from "../../store/cycle-store.ts";
import { withJobLock } from "../../store/job-lock.ts";
import { recordRoutingDecisions, routingHistory } from "../../store/routing-store.ts";
import {
  lastScorePass,
  latestTiers,
  type SnapshotInput,
  tierCounts,
  unfinishedPassSince,
  writeSnapshots,
} from "../../store/score-store.ts";
import { upsertSourceAccounts } from "../../store/source-accounts.ts";
import type { JobContext } from "../runtime.ts";

export interface ScorePassResult {
  asOf: string;
  configVersion: string;
  /** full: every account (first pass, new config, or a past date); incremental: only changed ones. */
  mode: "full" | "incremental";
  accounts: number;
  scored: number;
  tiers: Record<Tier, number>;
  /** Routing decisions recorded (accounts that became hot), when the pass routes. */
  routed: number;
  /** Among the accounts scored: tier moves since their previous snapshot. */
  changes: { newlyHot: string[]; newlyWarm: string[]; cooled: string[]; firstScored: number };
  durationMs: number;
  /** Milliseconds per phase, for tuning: attribution sweep, persona table, picking accounts, features (SQL), scoring (pure), snapshot writes. */
  phases: Record<"attribute" | "personas" | "select" | "features" | "score" | "write" | "summary", number>;
}

export interface ScorePassOptions {
  /** The time to score as of (default: now, by the runtime's clock). */
  now?: Date;
  /** Re-score every account even when the config and data allow an incremental pass. */
  full?: boolean;
  /**
   * Record a routing decision for each account that becomes hot (the scheduled cycle and
   * `score` do; a pass for a past date, a backtest, does not). Ignored for a pass older than
   * the latest one.
   */
  route?: boolean;
  chunkSize?: number;
  onProgress?: (done: number, total: number) => void;
}

const TIER_RANK: Record<string, number> = { cold: 0, warm: 1, hot: 2 };
/** Snapshots per COPY. */
const WRITE_BATCH = 2000;

/**
 * One scoring pass as of `now`: attribute late-resolved messages, derive the persona table, pick the
 * accounts to score (all, or only those whose inputs changed since the last pass), aggregate
 * their features in the database in chunks, score them (pure), and write one snapshot each.
 * Recorded as a cycle run.
 */
export async function runScorePass(rt: JobContext, options: ScorePassOptions = {}): Promise<ScorePassResult> {
  return withJobLock(rt.db, "scoring pass", () => scorePassLocked(rt, options));
}

async function scorePassLocked(rt: JobContext, options: ScorePassOptions): Promise<ScorePassResult> {
  const { db, config, clock } = rt;
  const started = new Date(clock.now());
  const now = options.now ?? started;
  const runId = await startCycleRun(db, "score", started);
  let source: SignalSource | undefined;
  try {
    // Opened first: a warehouse that is unreachable or lacks a mapped table fails the pass here,
    // before anything is written.
    source = await openSource(config.config, db, rt.settings?.sourceUrl);
    const last = await lastScorePass(db);
    // A pass that failed part-way since the last good one left some of its snapshots: only a
    // full pass makes the counts true again.
    const incremental =
      !options.full &&
      last !== null &&
      last.configVersion === config.version &&
      now.getTime() >= last.asOf.getTime() &&
      !(await unfinishedPassSince(db, last.startedAt, runId));
    const phases: ScorePassResult["phases"] = {
      attribute: 0,
      personas: 0,
      select: 0,
      features: 0,
      score: 0,
      write: 0,
      summary: 0,
    };
    const timed = async <T>(phase: keyof typeof phases, work: () => Promise<T> | T): Promise<T> => {
      const t = performance.now();
      try {
        return await work();
      } finally {
        phases[phase] += Math.round(performance.now() - t);
      }
    };
    // Messages received before the last pass were swept by it; only the very first pass sweeps all.
    const src = source;
    await timed("attribute", () => src.prepare(last?.startedAt ?? null));
    const readFeatures = await timed("personas", () =>
      src.featureReader(config.config, personaMatcher(config.config.personas)),
    );
    const { accounts, ids, before } = await timed("select", async () => {
      if (!incremental) {
        const ids = await src.accountIds(now);
        return { accounts: ids.length, ids, before: await latestTiers(db, ids) };
      }
      const changed = await src.changedAccountIds(last, now, [
        ...new Set(scoringWindows(config.config).map((w) => w.days)),
      ]);
      const ids = await src.accountIds(now, changed);
      return { accounts: await src.accountCount(), ids, before: await latestTiers(db, ids) };
    });
    const route = options.route === true && (last === null || now.getTime() >= last.asOf.getTime());
    const changes: ScorePassResult["changes"] = { newlyHot: [], newlyWarm: [], cooled: [], firstScored: 0 };
    let routed = 0;
    let scored = 0;
    const newTiers = new Map<string, Tier>();
    const chunkSize = options.chunkSize ?? src.chunkSize;
    // The next chunk's features are read while this one is scored and written (two connections
    // on PostgreSQL; the embedded engine simply runs them in turn).
    const read = (i: number) => {
      // A full pass reads runs of the sorted account list: a source may select them by range.
      const reading = timed("features", () => readFeatures(now, ids.slice(i, i + chunkSize), !incremental));
      // Awaited in turn below; a failure while the chunk before is written must not go unhandled meanwhile.
      reading.catch(() => {});
      return reading;
    };
    let next = ids.length > 0 ? read(0) : null;
    for (let i = 0; i < ids.length; i += chunkSize) {
      const features = await (next as Promise<AccountFeatures[]>);
      next = i + chunkSize < ids.length ? read(i + chunkSize) : null;
      const snapshots = await timed("score", () =>
        features.map((f): SnapshotInput => ({ features: f, score: scoreAccount(f, config.config, now) })),
      );
      // Accounts that just became hot, unless routed within the re-route cooldown.
      const candidates = route
        ? snapshots.filter(({ score }) => score.tier === "hot" && before.get(score.accountId) !== "hot")
        : [];
      const history = await routingHistory(
        db,
        candidates.map(({ score }) => score.accountId),
      );
      const decisions = candidates.flatMap(({ features, score }) => {
        const decision = routeNewlyHot(
          before.get(score.accountId) as Tier | undefined,
          features,
          score,
          config.config,
          { ...history.get(score.accountId), now },
        );
        return decision ? [decision] : [];
      });
      routed += decisions.length;
      // Snapshots and the routing decisions they cause commit together.
      await timed("write", () =>
        db.transaction(async (tx) => {
          // A warehouse's accounts are mirrored here first: snapshots and routings refer to them.
          if (src.type !== "builtin") await upsertSourceAccounts(tx, features, now);
          // In pieces: a warehouse's chunks are large, and one COPY would hold them all as text at once.
          for (let j = 0; j < snapshots.length; j += WRITE_BATCH)
            await writeSnapshots(tx, snapshots.slice(j, j + WRITE_BATCH), {
              asOf: now,
              configVersion: config.version,
              cycleRunId: runId,
            });
          await recordRoutingDecisions(tx, decisions, { decidedAt: now, cycleRunId: runId });
        }),
      );
      scored += snapshots.length;
      for (const { score } of snapshots) {
        newTiers.set(score.accountId, score.tier);
        const previous = before.get(score.accountId);
        if (previous === undefined) changes.firstScored++;
        if (previous === score.tier) continue;
        if (score.tier === "hot") changes.newlyHot.push(score.accountId);
        else if (score.tier === "warm" && (previous === undefined || previous === "cold"))
          changes.newlyWarm.push(score.accountId);
        else if (previous !== undefined && (TIER_RANK[score.tier] ?? 0) < (TIER_RANK[previous] ?? 0)) {
          changes.cooled.push(score.accountId);
        }
      }
      options.onProgress?.(Math.min(i + chunkSize, ids.length), ids.length);
    }
    // An incremental pass moves the last pass's counts by the tier changes it made; a full pass counts.
    const tiers = await timed("summary", async (): Promise<Record<Tier, number>> => {
      if (incremental && last.tiers) {
        const moved: Record<string, number> = { hot: 0, warm: 0, cold: 0, ...last.tiers };
        for (const [id, tier] of newTiers) {
          const previous = before.get(id);
          if (previous !== undefined) moved[previous] = (moved[previous] ?? 0) - 1;
          moved[tier] = (moved[tier] ?? 0) + 1;
        }
        return { hot: moved.hot ?? 0, warm: moved.warm ?? 0, cold: moved.cold ?? 0 };
      }
      const counts = await tierCounts(db, now);
      return { hot: counts.hot ?? 0, warm: counts.warm ?? 0, cold: counts.cold ?? 0 };
    });
    const result: ScorePassResult = {
      asOf: now.toISOString(),
      configVersion: config.version,
      mode: incremental ? "incremental" : "full",
      accounts,
      scored,
      tiers,
      routed,
      changes,
      durationMs: clock.now() - started.getTime(),
      phases,
    };
    await finishCycleRun(db, runId, {
      status: "ok",
      endedAt: new Date(clock.now()),
      stats: { ...result, changes: summarise(changes) },
    });
    return result;
  } catch (error) {
    await finishCycleRun(db, runId, {
      status: "failed",
      endedAt: new Date(clock.now()),
      errors: [{ message: (error as Error).message }],
    });
    throw error;
  } finally {
    await source?.close();
  }
}

function summarise(changes: ScorePassResult["changes"]) {
  return {
    newlyHot: changes.newlyHot.length,
    newlyWarm: changes.newlyWarm.length,
    cooled: changes.cooled.length,
    firstScored: changes.firstScored,
  };
}
