import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BacktestReport } from "../../src/app/jobs/backtest.ts";
import { runBacktest } from "../../src/app/jobs/backtest.ts";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { editConfigText } from "../../src/config/edit-config.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { readOutcomesCsv } from "../../src/signals/outcomes-csv.ts";
import { storeOutcomes } from "../../src/store/outcome-store.ts";
import { DAY_MS } from "../../src/tuning/replay-query.ts";
import { ROOT, runCli } from "../helpers/cli.ts";
import {
  createTestStore,
  ENGINES,
  SKIP_PG_REASON,
  type TestStore,
  tempDir,
  withStoreReleased,
} from "../helpers/databases.ts";
import { jobContext } from "../helpers/runtime.ts";
import { writeTuningWorld } from "../helpers/tuning-world.ts";

const END = new Date("2026-11-01T00:00:00Z");
const dir = tempDir();
const worlds = [1, 2].map((seed) =>
  writeTuningWorld({
    accounts: 1000,
    days: 240,
    seed,
    end: END,
    out: path.join(dir, `world-${seed}.ndjson`),
  }),
);

/** The shipped config, comments and all, with effective component weights (and thresholds) set in place. */
function configText(weights: Record<string, number>, tiers: { hot: number; warm: number }): string {
  const w = weights as Record<
    | "adoptionDepth"
    | "activation"
    | "usageVolume"
    | "activeUsers"
    | "personas"
    | "integrations"
    | "icpFit"
    | "intent",
    number
  >;
  return editConfigText(fs.readFileSync(path.join(ROOT, "pql-router.config.yaml"), "utf8"), [
    { path: ["scoring", "weights", "behavioural"], value: w.adoptionDepth + w.activation + w.usageVolume },
    {
      path: ["scoring", "weights", "account"],
      value: w.activeUsers + w.personas + w.integrations + w.icpFit,
    },
    { path: ["scoring", "weights", "intent"], value: w.intent },
    ...(
      [
        "adoptionDepth",
        "activation",
        "usageVolume",
        "activeUsers",
        "personas",
        "integrations",
        "icpFit",
      ] as const
    ).map((c) => ({ path: ["scoring", "components", c], value: w[c] })),
    { path: ["tiers", "hot"], value: tiers.hot },
    { path: ["tiers", "warm"], value: tiers.warm },
  ]);
}

/** Weights on what drives conversion in the tuning world (intent, ICP fit), and the same weights shuffled onto what does not. */
const DRIVERS = {
  intent: 6,
  icpFit: 4,
  adoptionDepth: 0,
  activation: 0,
  usageVolume: 0,
  activeUsers: 0,
  personas: 0,
  integrations: 0,
};
const SHUFFLED = {
  usageVolume: 6,
  activeUsers: 4,
  intent: 0,
  icpFit: 0,
  adoptionDepth: 0,
  activation: 0,
  personas: 0,
  integrations: 0,
};
const TIERS = { hot: 45, warm: 25 };

const drivers = path.join(dir, "pql-router.config.yaml");
const shuffled = path.join(dir, "shuffled.yaml");
fs.writeFileSync(drivers, configText(DRIVERS, TIERS));
fs.writeFileSync(shuffled, configText(SHUFFLED, TIERS));
/** A CLI run replays the whole period; on a loaded 2-core machine several take minutes. */
const SLOW = 300_000;
const PERIOD = ["--from", "2026-05-03", "--to", "2026-08-02", "--every", "7d", "--horizon", "60d"];

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `RevOps tuning on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      const stores: TestStore[] = [];
      const env = (i: number) => ({ ...stores[i]?.env, PQL_CONFIG: drivers });
      const count = async (i: number, table: string) =>
        (
          await (stores[i] as TestStore).db.sql.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${table}`,
          )
        ).rows[0]?.n;
      const cli = async (i: number, args: string[]) => {
        const { result, store } = await withStoreReleased(stores[i] as TestStore, () => runCli(args, env(i)));
        stores[i] = store;
        return result;
      };

      beforeAll(async () => {
        for (const world of worlds) {
          const store = await createTestStore(engine.name);
          const config = loadConfig(drivers);
          await importFile(jobContext(store.db, config), world.file);
          const parsed = await readOutcomesCsv(world.outcomesFile);
          await storeOutcomes(store.db, parsed.rows, "import");
          stores.push(store);
        }
      }, 300_000);
      afterAll(async () => {
        for (const s of stores) await s.dispose();
      });

      it(
        "replays without look-ahead: an event planted after a point changes later points, never that one",
        async () => {
          const db = (stores[0] as TestStore).db;
          const config = loadConfig(drivers).config;
          const options = {
            configs: [{ label: "drivers", config }],
            from: new Date("2026-06-07T00:00:00Z"),
            to: new Date("2026-07-26T00:00:00Z"),
          };
          const before = await runBacktest(db, options);
          const points = before.input.days.length;
          const p = 3;
          const planted = new Date((before.input.days[p] as number) * DAY_MS + 3_600_000);
          // The account most likely to move: scored at every point, with a low score at p.
          const a = before.input.accounts.findIndex((_, i) => {
            const s = before.input.runs[0]?.scores.score[i * points + p] as number;
            return (
              !Number.isNaN(s) &&
              s < 20 &&
              !Number.isNaN(before.input.runs[0]?.scores.score[i * points] as number)
            );
          });
          expect(a).toBeGreaterThanOrEqual(0);
          const accountId = before.input.accounts[a]?.id as string;
          const { rows } = await db.sql.query<{ user_id: string }>(
            "SELECT user_id FROM messages WHERE account_id = $1 AND user_id IS NOT NULL LIMIT 1",
            [accountId],
          );
          const file = path.join(tempDir(), "planted.ndjson");
          fs.writeFileSync(
            file,
            Array.from({ length: 30 }, (_, k) =>
              JSON.stringify({
                type: "page",
                messageId: `planted-${k}`,
                userId: rows[0]?.user_id,
                name: "Pricing",
                properties: { path: "/pricing" },
                timestamp: new Date(planted.getTime() + k * 60_000).toISOString(),
              }),
            ).join("\n"),
          );
          await importFile(jobContext(db, loadConfig(drivers)), file);
          const after = await runBacktest(db, options);
          const score = (bt: typeof before, point: number) =>
            bt.input.runs[0]?.scores.score[a * points + point];
          for (let k = 0; k <= p; k++) expect(score(after, k), `point ${k}`).toBe(score(before, k));
          // The planted visits count from the next point on (so the test can fail).
          expect(score(after, p + 1) as number).toBeGreaterThan(score(before, p + 1) as number);
        },
        SLOW,
      );

      it(
        "a config weighting the world's drivers beats the same weights shuffled, side by side, writing nothing live",
        async () => {
          const run = await cli(0, [
            "backtest",
            "--config",
            shuffled,
            "--baseline",
            drivers,
            ...PERIOD,
            "--json",
          ]);
          expect(run.code, run.stderr).toBe(0);
          const report = run.json as BacktestReport;
          const [base, cand] = report.configs;
          expect(base?.label).toBe("baseline (pql-router.config.yaml)");
          expect(cand?.label).toBe("candidate (shuffled.yaml)");
          expect(report.period).toMatchObject({ points: 14, everyDays: 7, horizonDays: 60 });
          expect(base?.observations).toBe(cand?.observations);
          expect(base?.converted).toBeGreaterThan(200);
          // Lift: of the hot tier, and of the top 10% whatever the thresholds.
          expect(base?.hot.lift as number).toBeGreaterThan((cand?.hot.lift ?? 0) + 0.5);
          expect(base?.liftTop10 as number).toBeGreaterThan((cand?.liftTop10 as number) + 0.5);
          // Calibration: the drivers' probability is the better one (Brier); ECE is reported for both.
          expect(base?.calibration?.brier as number).toBeLessThan(cand?.calibration?.brier as number);
          expect(base?.calibration?.ece).toBeGreaterThanOrEqual(0);
          // Deciles: scores tie (two inputs), so some cuts merge; never more than ten.
          expect(base?.calibration?.deciles.length).toBeGreaterThanOrEqual(5);
          expect(base?.calibration?.deciles.length).toBeLessThanOrEqual(10);
          // Tier moves between the two.
          expect(report.changes?.observationsMoved).toBeGreaterThan(0);
          expect(report.changes?.matrix.map((m) => m.from)).toEqual(["cold", "warm", "hot"]);
          // Nothing live was written.
          for (const table of ["score_snapshots", "latest_scores", "routing_decisions", "cycle_runs"])
            expect(await count(0, table), table).toBe(0);
          const text = await cli(0, ["backtest", "--config", shuffled, "--baseline", drivers, ...PERIOD]);
          expect(text.stdout).toContain("lift of hot over base rate");
          expect(text.stdout).toContain("Tier moves, baseline -> candidate");
        },
        SLOW,
      );

      it(
        "thresholds suggested on one seed hit the target on another within 3 points; the candidate changes only the thresholds",
        async () => {
          const out = path.join(dir, `thresholds-${engine.name}.yaml`);
          const run = await cli(0, [
            "thresholds",
            "suggest",
            "--target-conversion",
            "0.3",
            "--capacity",
            "1000",
            "--out",
            out,
            ...PERIOD,
            "--json",
          ]);
          expect(run.code, run.stderr).toBe(0);
          const result = run.json as {
            suggested: { hot: number; warm: number };
            candidate: string;
            curve: unknown[];
          };
          expect(result.candidate).toBe(out);
          expect(result.curve).toHaveLength(201);
          const { hot, warm } = result.suggested;
          expect(hot).toBeGreaterThan(warm);
          const original = fs.readFileSync(drivers, "utf8").split("\n");
          const candidate = fs.readFileSync(out, "utf8").split("\n");
          expect(candidate).toHaveLength(original.length);
          const changed = original.flatMap((line, i) =>
            line === candidate[i] ? [] : [[line, candidate[i]]],
          );
          expect(changed).toEqual(
            [
              [`  hot: ${TIERS.hot}`, `  hot: ${hot}`],
              [`  warm: ${TIERS.warm}`, `  warm: ${warm}`],
            ].filter(([a, b]) => a !== b),
          );
          const check = await runCli(["config", "check", out]);
          expect(check.code, check.stdout).toBe(0);
          // On a fresh seed of the same generator, the suggested hot tier converts at the target.
          const fresh = await cli(1, ["backtest", "--config", out, ...PERIOD, "--json"]);
          expect(fresh.code, fresh.stderr).toBe(0);
          const hotTier = (fresh.json as BacktestReport).configs[0]?.tiers.find((t) => t.tier === "hot");
          expect(hotTier?.observations).toBeGreaterThan(200);
          expect(Math.abs((hotTier?.rate as number) - 0.3)).toBeLessThanOrEqual(0.03);
          // Nothing meets an impossible target: it says so, shows the closest options, writes nothing.
          const none = await cli(0, [
            "thresholds",
            "suggest",
            "--target-conversion",
            "0.97",
            "--out",
            `${out}.none`,
            ...PERIOD,
          ]);
          expect(none.code).toBe(1);
          expect(none.stdout).toContain("No threshold converts at 97%");
          expect(fs.existsSync(`${out}.none`)).toBe(false);
        },
        SLOW,
      );

      it(
        "weights fit finds the drivers, reports intervals and held-out AUC, and writes a candidate changing only weights",
        async () => {
          const out = path.join(dir, `weights-${engine.name}.yaml`);
          fs.writeFileSync(
            path.join(dir, "even.yaml"),
            configText(
              {
                intent: 1,
                icpFit: 1,
                adoptionDepth: 1,
                activation: 1,
                usageVolume: 1,
                activeUsers: 1,
                personas: 1,
                integrations: 1,
              },
              TIERS,
            ),
          );
          const run = await cli(0, [
            "weights",
            "fit",
            "--config",
            path.join(dir, "even.yaml"),
            "--out",
            out,
            ...PERIOD,
            "--json",
          ]);
          expect(run.code, run.stderr).toBe(0);
          const { fit } = run.json as {
            fit: {
              columns: { name: string; fitted: number; interval: { low: number; high: number } | null }[];
              heldOut: { fitted: { auc: number }; handSet: { auc: number } };
            };
          };
          const share = (name: string) => fit.columns.find((c) => c.name === name)?.fitted ?? 0;
          expect(share("intent: pricing_page")).toBeGreaterThan(0.3);
          expect(share("intent: pricing_page")).toBeGreaterThan(5 * share("usageVolume: candidate_added"));
          expect(share("icpFit")).toBeGreaterThan(share("activeUsers"));
          const pricing = fit.columns.find((c) => c.name === "intent: pricing_page");
          expect(pricing?.interval?.low).toBeGreaterThan(0);
          expect(fit.heldOut.fitted.auc).toBeGreaterThan(fit.heldOut.handSet.auc);
          const original = fs.readFileSync(path.join(dir, "even.yaml"), "utf8").split("\n");
          const candidate = fs.readFileSync(out, "utf8").split("\n");
          expect(candidate).toHaveLength(original.length);
          const changed = original.filter((line, i) => line !== candidate[i]);
          expect(changed.length).toBeGreaterThan(0);
          for (const line of changed)
            expect(line).toMatch(
              /^\s*(weight|weights|adoptionDepth|activation|usageVolume|activeUsers|personas|integrations|icpFit):/,
            );
          const check = await runCli(["config", "check", out]);
          expect(check.code, check.stdout).toBe(0);
        },
        SLOW,
      );

      it(
        "calibrate stores the probability map of the live config; --dry-run stores nothing; the HTML page embeds its charts",
        async () => {
          const dry = await cli(0, ["calibrate", ...PERIOD, "--dry-run", "--json"]);
          expect(dry.code, dry.stderr).toBe(0);
          expect(dry.json).toMatchObject({ stored: false, method: "isotonic" });
          expect(await count(0, "cycle_runs")).toBe(0);
          const run = await cli(0, ["calibrate", ...PERIOD, "--json"]);
          expect(run.code, run.stderr).toBe(0);
          const result = run.json as {
            stored: boolean;
            configVersion: string;
            calibration: { deciles: unknown[]; ece: number; brier: number };
          };
          expect(result.stored).toBe(true);
          expect(result.configVersion).toBe(loadConfig(drivers).version);
          expect(result.calibration.deciles.length).toBeGreaterThanOrEqual(5);
          expect(await count(0, "cycle_runs")).toBe(1);
          const status = await cli(0, ["status", "--json"]);
          expect(status.json).toMatchObject({
            lastCalibration: { configVersion: result.configVersion, horizonDays: 60 },
          });
          const file = path.join(dir, `backtest-${engine.name}.html`);
          const html = await cli(0, [
            "backtest",
            "--baseline",
            shuffled,
            ...PERIOD,
            "--format",
            "html",
            "--out",
            file,
          ]);
          expect(html.code, html.stderr).toBe(0);
          const page = fs.readFileSync(file, "utf8");
          for (const chart of ["conversion-by-tier", "routing-load", "calibration", "threshold-trade-off"])
            expect(page, chart).toContain(`data-chart="${chart}"`);
          expect(page).not.toContain("<script");
          expect(page.match(/<svg/g)?.length).toBe(4);
        },
        SLOW,
      );
    },
  );
}
