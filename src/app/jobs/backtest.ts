import type { PqlConfig } from "../../config/schema.ts";
import { historyRead } from "../../config/windows.ts";
import { UsageError } from "../../errors.ts";
import { personaMatcher } from "../../signals/persona.ts";
import type { Database } from "../../store/database.ts";
import { personaKeys } from "../../store/persona-store.ts";
import { prunedBefore } from "../../store/prune.ts";
import { newestEventAt } from "../../store/score-store.ts";
import {
  type AccountRef,
  type BacktestInput,
  type ConfigResult,
  judgeConfig,
  judgementWarnings,
  type KnownOutcome,
  type Observation,
  observations,
  tierChanges,
} from "../../tuning/backtest.ts";
import { emptyScores, prepare, type ReplayScores, replayAccount } from "../../tuning/replay.ts";
import { type AccountHistory, DAY_MS, readAccountHistories } from "../../tuning/replay-query.ts";
import { type CurvePoint, thresholdCurve } from "../../tuning/thresholds.ts";

export interface BacktestOptions {
  /** The configs to replay: one, or a baseline then a candidate. */
  configs: readonly { label: string; config: PqlConfig }[];
  /** First and last point (midnights UTC); defaults: the last point `horizon` before the newest event, 52 points. */
  from?: Date | undefined;
  to?: Date | undefined;
  everyDays?: number;
  horizonDays?: number;
  chunkSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface BacktestPeriod {
  from: string;
  to: string;
  everyDays: number;
  horizonDays: number;
  points: number;
  /** The newest event: outcomes are judged up to it. */
  dataEnd: string;
}

export interface BacktestReport {
  period: BacktestPeriod;
  configs: ConfigResult[];
  /** The hot threshold trade-off of the last config (the candidate): volume a week, conversion, revenue. */
  tradeOff: CurvePoint[];
  /** With a baseline: observations moving between tiers, and the accounts whose tier differs at the last point. */
  changes: ReturnType<typeof tierChanges>;
  warnings: string[];
  durationMs: number;
}

/** A backtest's report and the replay behind it (for calibration, threshold and weight fitting). */
export interface Backtest {
  report: BacktestReport;
  input: BacktestInput;
  observations: Observation[];
}

const DEFAULT_POINTS = 52;
/**
 * Accounts per read, and chunks read at once on PostgreSQL while the one before is replayed
 * (measured on 10k accounts over a year, 2 cores: 1000 with one ahead took about 1.3x as long).
 */
const CHUNK_SIZE = 500;
const READS_IN_FLIGHT = 3;

/** The points of a backtest, as day numbers, from the options and the data's newest event. */
export function backtestDays(
  options: Pick<BacktestOptions, "from" | "to" | "everyDays" | "horizonDays">,
  dataEnd: Date,
): { days: number[]; everyDays: number; horizonDays: number } {
  const everyDays = options.everyDays ?? 7;
  const horizonDays = options.horizonDays ?? 90;
  const dayOf = (d: Date, name: string) => {
    if (d.getTime() % DAY_MS !== 0)
      throw new UsageError(
        `--${name}: points are midnights (UTC): expected a date such as 2026-06-01, got ${d.toISOString()}`,
      );
    return d.getTime() / DAY_MS;
  };
  const to = options.to
    ? dayOf(options.to, "to")
    : Math.floor((dataEnd.getTime() - horizonDays * DAY_MS) / DAY_MS);
  const from = options.from ? dayOf(options.from, "from") : to - (DEFAULT_POINTS - 1) * everyDays;
  if (from > to)
    throw new UsageError(
      `--from: ${new Date(from * DAY_MS).toISOString().slice(0, 10)} is after --to ${new Date(to * DAY_MS).toISOString().slice(0, 10)}`,
    );
  const days: number[] = [];
  for (let d = from; d <= to; d += everyDays) days.push(d);
  return { days, everyDays, horizonDays };
}

/**
 * Replays scoring at every point of a period for each config, using only the events known at
 * each point (daily rollups read once per chunk of accounts, see `REPLAY_SQL`), and judges each
 * config against what happened within the horizon after each point. Reads only: no snapshot, no
 * routing, no vendor call, so it may run beside a live worker.
 */
export async function runBacktest(db: Database, options: BacktestOptions): Promise<Backtest> {
  const started = performance.now();
  const warehouse = options.configs.find((c) => c.config.source && c.config.source.type !== "builtin");
  if (warehouse)
    throw new UsageError(
      `backtest: ${warehouse.label} reads signals from a ${warehouse.config.source?.type} warehouse (source:), and the replay reads pql-router's own messages only`,
      "replay from a warehouse is not supported yet: import the history into the builtin store to backtest it",
    );
  const newest = await newestEventAt(db);
  if (!newest) throw new UsageError("backtest: there are no events to replay: import or ingest some first");
  const { days, everyDays, horizonDays } = backtestDays(options, newest);
  const configs = options.configs.map((c) => c.config);
  const warnings: string[] = [];
  const lastDay = days[days.length - 1] as number;
  const censored = days.filter((d) => d * DAY_MS + horizonDays * DAY_MS > newest.getTime()).length;
  if (censored > 0)
    warnings.push(
      `${censored} of ${days.length} points are less than the ${horizonDays}-day horizon before the newest event (${newest.toISOString().slice(0, 10)}): conversions after them are not all known yet, so their conversion rates read low. Use an earlier --to.`,
    );
  const pruned = await prunedBefore(db);
  const history = Math.max(...configs.map((c) => historyRead(c).days));
  if (pruned && (days[0] as number) * DAY_MS - history * DAY_MS < pruned.getTime())
    warnings.push(
      `Events before ${pruned.toISOString().slice(0, 10)} were pruned: points before ${new Date(pruned.getTime() + history * DAY_MS).toISOString().slice(0, 10)} miss part of the ${history}-day history they read (first times are kept). Use a later --from.`,
    );

  // One warm-up point before the first: the previous tier of every account at the first point.
  const replayDays = [(days[0] as number) - everyDays, ...days];
  const { rows: accountRows } = await db.sql.query<AccountRef>(
    "SELECT id, name, domain FROM accounts ORDER BY id",
  );
  const accounts = accountRows.map((r) => ({ id: r.id, name: r.name, domain: r.domain }));
  const { rows: marks } = await db.sql.query<{ account_id: string; at: Date }>(
    "SELECT account_id, at FROM routing_feedback WHERE kind = 'not_a_fit' ORDER BY at",
  );
  const notAFit = new Map<string, number[]>();
  for (const m of marks)
    notAFit.set(m.account_id, [...(notAFit.get(m.account_id) ?? []), new Date(m.at).getTime()]);
  const personas = await Promise.all(configs.map((c) => personaKeys(db, personaMatcher(c.personas))));
  const scores: ReplayScores[] = configs.map((c) =>
    emptyScores(accounts.length, days.length, c.signals.length),
  );
  const chunkSize = options.chunkSize ?? CHUNK_SIZE;
  const ids = accounts.map((a) => a.id);
  const until = new Date(lastDay * DAY_MS);
  // The next chunks are read while this one is replayed: on PostgreSQL several at once (each on
  // its own connection, so the server works on them in parallel); the embedded engine runs its
  // queries in turn, so one ahead is all it can use.
  const inFlight = db.engine === "postgres" ? READS_IN_FLIGHT : 1;
  const reads: Promise<AccountHistory[]>[] = [];
  let nextRead = 0;
  const readAhead = () => {
    while (reads.length < inFlight && nextRead < ids.length) {
      const read = readAccountHistories(
        db,
        configs,
        until,
        ids.slice(nextRead, nextRead + chunkSize),
        personas,
      );
      // Awaited in turn below; a failure while an earlier chunk is awaited must not go unhandled meanwhile.
      read.catch(() => {});
      reads.push(read);
      nextRead += chunkSize;
    }
  };
  readAhead();
  for (let i = 0; i < ids.length; i += chunkSize) {
    const histories = await (reads.shift() as Promise<AccountHistory[]>);
    readAhead();
    histories.forEach((h, j) => {
      const prepared = prepare(h);
      const marks = notAFit.get(h.accountId) ?? [];
      configs.forEach((config, c) => {
        replayAccount(prepared, config, c, replayDays, 1, marks, scores[c] as ReplayScores, i + j);
      });
    });
    options.onProgress?.(Math.min(i + chunkSize, ids.length), ids.length);
  }

  const { rows: outcomeRows } = await db.sql.query<{
    account_id: string;
    converted: boolean;
    converted_at: Date | null;
    amount: string | number | null;
  }>("SELECT account_id, converted, converted_at, amount FROM outcomes");
  const outcomes = new Map<string, KnownOutcome>(
    outcomeRows.map((r) => [
      r.account_id,
      {
        converted: r.converted,
        convertedAt: r.converted_at ? new Date(r.converted_at).getTime() : null,
        amount: r.amount === null ? null : Number(r.amount),
      },
    ]),
  );
  const undated = outcomeRows.filter((r) => r.converted && !r.converted_at).length;
  if (undated > 0)
    warnings.push(
      `${undated} converted accounts have no conversion date: they cannot be judged and are left out.`,
    );
  const input: BacktestInput = {
    accounts,
    days,
    everyDays,
    horizonDays,
    outcomes,
    notAFit,
    runs: options.configs.map((c, i) => ({
      label: c.label,
      config: c.config,
      scores: scores[i] as ReplayScores,
    })),
  };
  const obs = observations(input);
  const results = input.runs.map((run) => judgeConfig(input, run, obs));
  for (const r of results)
    for (const w of judgementWarnings(r, horizonDays))
      warnings.push(results.length > 1 ? `${r.label}: ${w}` : w);
  return {
    report: {
      period: {
        from: new Date((days[0] as number) * DAY_MS).toISOString(),
        to: new Date(lastDay * DAY_MS).toISOString(),
        everyDays,
        horizonDays,
        points: days.length,
        dataEnd: newest.toISOString(),
      },
      configs: results,
      changes: tierChanges(input, obs),
      tradeOff: thresholdCurve(
        input,
        input.runs[input.runs.length - 1] as BacktestInput["runs"][number],
        obs,
      ),
      warnings,
      durationMs: Math.round(performance.now() - started),
    },
    input,
    observations: obs,
  };
}
