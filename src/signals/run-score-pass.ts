import type { LoadedConfig } from "../config/load-config.ts";
import { readAccountFeatures } from "../store/account-features-query.ts";
import type { Database } from "../store/database.ts";
import { attributeMessages } from "../store/message-store.ts";
import { refreshPersonas } from "../store/persona-store.ts";
import {
  accountIdsAsOf,
  changedAccountIds,
  lastScorePass,
  latestTiers,
  type SnapshotInput,
  tierCounts,
  writeSnapshots,
} from "../store/score-store.ts";
import { personaMatcher } from "./persona.ts";
import { scoreAccount, type Tier } from "./score-account.ts";

export interface ScorePassResult {
  asOf: string;
  configVersion: string;
  /** full: every account (first pass, new config, or a past date); incremental: only changed ones. */
  mode: "full" | "incremental";
  accounts: number;
  scored: number;
  tiers: Record<Tier, number>;
  /** Among the accounts scored: tier moves since their previous snapshot. */
  changes: { newlyHot: string[]; newlyWarm: string[]; cooled: string[]; firstScored: number };
  durationMs: number;
}

export interface ScorePassOptions {
  db: Database;
  config: LoadedConfig;
  now: Date;
  /** Re-score every account even when the config and data allow an incremental pass. */
  full?: boolean;
  chunkSize?: number;
  onProgress?: (done: number, total: number) => void;
}

const TIER_RANK: Record<string, number> = { cold: 0, warm: 1, hot: 2 };

/**
 * One scoring pass as of `now`: attribute late-resolved messages, derive personas, pick the
 * accounts to score (all, or only those whose inputs changed since the last pass), aggregate
 * their features in the database in chunks, score them (pure), and write one snapshot each.
 * Recorded as a cycle run.
 */
export async function runScorePass(options: ScorePassOptions): Promise<ScorePassResult> {
  const { db, config, now } = options;
  const started = new Date();
  const run = await db.prisma.cycleRun.create({ data: { kind: "score", startedAt: started } });
  try {
    const last = await lastScorePass(db);
    const incremental =
      !options.full &&
      last !== null &&
      last.configVersion === config.version &&
      now.getTime() >= last.asOf.getTime();
    await attributeMessages(db, incremental ? last.startedAt : null);
    const personaChanges = await refreshPersonas(db, personaMatcher(config.config.personas), config.version);
    const all = await accountIdsAsOf(db, now);
    let ids = all;
    if (incremental) {
      const existing = new Set(all);
      const changed = new Set([
        ...(await changedAccountIds(db, last, now, windowDays(config))),
        ...personaChanges,
      ]);
      ids = [...changed].filter((id) => existing.has(id)).sort();
    }
    const before = await latestTiers(db, ids);
    const changes: ScorePassResult["changes"] = { newlyHot: [], newlyWarm: [], cooled: [], firstScored: 0 };
    const chunkSize = options.chunkSize ?? 2000;
    for (let i = 0; i < ids.length; i += chunkSize) {
      const features = await readAccountFeatures(db, config.config, now, ids.slice(i, i + chunkSize));
      const snapshots: SnapshotInput[] = features.map((f) => ({
        features: f,
        score: scoreAccount(f, config.config, now),
      }));
      await writeSnapshots(db, snapshots, { asOf: now, configVersion: config.version, cycleRunId: run.id });
      for (const { score } of snapshots) {
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
    const counts = await tierCounts(db, now);
    const tiers: Record<Tier, number> = {
      hot: counts.hot ?? 0,
      warm: counts.warm ?? 0,
      cold: counts.cold ?? 0,
    };
    const result: ScorePassResult = {
      asOf: now.toISOString(),
      configVersion: config.version,
      mode: incremental ? "incremental" : "full",
      accounts: all.length,
      scored: ids.length,
      tiers,
      changes,
      durationMs: Date.now() - started.getTime(),
    };
    await db.prisma.cycleRun.update({
      where: { id: run.id },
      data: { status: "ok", endedAt: new Date(), stats: { ...result, changes: summarise(changes) } },
    });
    return result;
  } catch (error) {
    await db.prisma.cycleRun.update({
      where: { id: run.id },
      data: { status: "failed", endedAt: new Date(), errors: [{ message: (error as Error).message }] },
    });
    throw error;
  }
}

/** Every window length the score depends on (signal windows and the active window). */
function windowDays(config: LoadedConfig): number[] {
  return [
    ...new Set([config.config.scoring.activeWindowDays, ...config.config.signals.map((s) => s.windowDays)]),
  ];
}

function summarise(changes: ScorePassResult["changes"]) {
  return {
    newlyHot: changes.newlyHot.length,
    newlyWarm: changes.newlyWarm.length,
    cooled: changes.cooled.length,
    firstScored: changes.firstScored,
  };
}
