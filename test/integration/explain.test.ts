import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { runScorePass } from "../../src/app/jobs/score-pass.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import { saveCalibration } from "../../src/store/calibration-store.ts";
import { ROOT, runCli } from "../helpers/cli.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore, tempDir } from "../helpers/databases.ts";
import { jobContext } from "../helpers/runtime.ts";

const END = new Date("2026-11-01T00:00:00Z");
const CONFIG = path.join(ROOT, "pql-router.config.yaml");
const tiers = loadConfig(CONFIG).config.tiers;
const CALIBRATED_AT = new Date("2026-10-30T08:00:00Z");

interface Explained {
  score: number;
  tier: string;
  nextTier: { tier: string; at: number; pointsToGo: number } | null;
  activityTrendPct: number | null;
  probability: { percent: number; horizonDays: number; calibratedAt: string } | null;
  reasons: string[];
  pqr: Record<string, unknown>;
  icp: { facts: string[]; unknown: string[] };
}

/** The shipped config for a payroll product: priced per employee, headcount and HRIS in their own traits. */
function payrollConfig(dir: string): string {
  const shipped = fs.readFileSync(CONFIG, "utf8");
  const pqr = shipped.slice(
    shipped.indexOf("\npqr:\n"),
    shipped.indexOf("\n# ----", shipped.indexOf("\npqr:\n")),
  );
  const techStack = "  techStack:\n    weight: 30\n";
  expect(pqr).toContain("seatPricePerMonth");
  expect(shipped.split(techStack)).toHaveLength(2);
  const file = path.join(dir, "payroll.config.yaml");
  fs.writeFileSync(
    file,
    shipped
      .replace(techStack, `${techStack}    trait: hris\n`)
      .replace(
        pqr,
        [
          "\npqr:",
          "  model: per-employee",
          "  pricePerEmployeePerMonth: 15",
          "  employeesTrait: headcount",
          "  companySizeMultipliers:",
          "    - { minEmployees: 0, multiplier: 1 }",
          "    - { minEmployees: 1000, multiplier: 0.8 }",
          "",
        ].join("\n"),
      ),
  );
  return file;
}

/** Two payroll accounts: Payco sends its headcount ("300") and HRIS; Smallco sends neither. */
function payrollMessages(dir: string): string {
  const at = (day: number) => new Date(END.getTime() - day * 86_400_000).toISOString();
  let n = 0;
  const id = () => `m${++n}`;
  const messages = [
    ["acct_payco", { name: "Payco", website: "https://payco.example", headcount: "300", hris: "Gusto" }],
    ["acct_smallco", { name: "Smallco", website: "https://smallco.example" }],
  ].flatMap(([account, traits]) =>
    ["u1", "u2"].flatMap((u) => {
      const userId = `${account}_${u}`;
      return [
        {
          type: "identify",
          messageId: id(),
          userId,
          timestamp: at(10),
          traits: { title: "Payroll Manager" },
        },
        { type: "group", messageId: id(), userId, groupId: account, timestamp: at(10), traits },
        ...[9, 5, 2].map((day) => ({
          type: "track",
          messageId: id(),
          userId,
          event: "Report Run",
          timestamp: at(day),
          context: { groupId: account },
        })),
      ];
    }),
  );
  const file = path.join(dir, "payroll.ndjson");
  fs.writeFileSync(file, messages.map((m) => JSON.stringify(m)).join("\n"));
  return file;
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `explain on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      const picked: Record<string, string> = {};

      beforeAll(async () => {
        store = await createTestStore(engine.name);
        const world = await generateWorld({
          accounts: 80,
          days: 60,
          seed: 21,
          end: END,
          out: path.join(tempDir(), "w.ndjson"),
        });
        const rt = jobContext(store.db, loadConfig(CONFIG), END);
        await importFile(rt, world.file);
        await runScorePass(rt, { now: END });
        const { rows } = await store.db.sql.query<{ tier: string; account_id: string }>(
          "SELECT DISTINCT ON (tier) tier, account_id FROM latest_scores ORDER BY tier, score",
        );
        for (const r of rows) picked[r.tier] = r.account_id;
        // The shipped config calibrated: 10% at a score of 40 or below, rising to 34% at 70 and above.
        await saveCalibration(store.db, {
          configVersion: loadConfig(CONFIG).version,
          fittedAt: CALIBRATED_AT,
          horizonDays: 90,
          model: { method: "isotonic", xs: [40, 70], ps: [0.1, 0.34] },
          period: { from: "2026-01-01", to: "2026-07-31", everyDays: 7 },
          observations: 500,
          conversions: 60,
          ece: 0.02,
          brier: 0.09,
        });
        if (engine.name === "embedded") await store.close();
      });
      afterAll(async () => {
        await store?.dispose();
      });

      it("says how far every tier but the top is from the next one, and the top how far it is from falling", async () => {
        expect(Object.keys(picked).sort()).toEqual(["cold", "hot", "warm"]);
        const env = { ...store.env, PQL_CONFIG: CONFIG };
        for (const [tier, next] of [
          ["cold", "warm"],
          ["warm", "hot"],
        ] as const) {
          const json = (
            await runCli(["explain", picked[tier] as string, "--at", END.toISOString(), "--json"], env)
          ).json as Explained;
          expect(json.tier).toBe(tier);
          const to = Math.round((tiers[next] - json.score) * 100) / 100;
          expect(json.nextTier).toEqual({ tier: next, at: tiers[next], pointsToGo: to });
          const text = await runCli(["explain", picked[tier] as string, "--at", END.toISOString()], env);
          expect(text.stdout).toContain(`${to} points below ${next} (${tiers[next]})`);
        }
        const hot = await runCli(["explain", picked.hot as string, "--at", END.toISOString(), "--json"], env);
        const h = hot.json as Explained;
        expect(h.nextTier).toBeNull();
        const text = await runCli(["explain", picked.hot as string, "--at", END.toISOString()], env);
        expect(text.stdout).toContain(
          `${Math.round((h.score - tiers.hot) * 100) / 100} points above hot (${tiers.hot})`,
        );
        // Counts in plain words, the trend apart from the reasons.
        expect(text.stdout).not.toMatch(/\b1 (users|personas|days|events)\b/);
        expect(text.stdout).toMatch(/trend \(not scored\)/);
        expect(h.reasons.some((r) => /^activity (up|down)/.test(r))).toBe(false);
      });

      it("gives the score's calibrated probability of converting, as a line and in --json", async () => {
        const env = { ...store.env, PQL_CONFIG: CONFIG };
        const explain = (tier: string, json: boolean) =>
          runCli(
            ["explain", picked[tier] as string, "--at", END.toISOString(), ...(json ? ["--json"] : [])],
            env,
          );
        const calibrated = { horizonDays: 90, calibratedAt: CALIBRATED_AT.toISOString() };
        // Hot (70 or more): 34%; cold (under 40): 10%.
        expect(((await explain("hot", true)).json as Explained).probability).toEqual({
          percent: 34,
          ...calibrated,
        });
        expect(((await explain("cold", true)).json as Explained).probability).toEqual({
          percent: 10,
          ...calibrated,
        });
        expect((await explain("hot", false)).stdout).toMatch(
          /\nprobability +~34% likely to convert in 90 days \(calibrated 2026-10-30\)\n/,
        );
      }, 120_000);
    },
  );
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `explain of a per-employee PQR on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      let config: string;

      beforeAll(async () => {
        store = await createTestStore(engine.name);
        const dir = tempDir();
        config = payrollConfig(dir);
        await importFile(jobContext(store.db, loadConfig(config), END), payrollMessages(dir));
        if (engine.name === "embedded") await store.close();
      });
      afterAll(async () => {
        await store?.dispose();
      });

      it("prints the PQR in plain words: employees from the named trait, or active users when unknown", async () => {
        const env = { ...store.env, PQL_CONFIG: config };
        const explain = (account: string, json = false) =>
          runCli(["explain", account, "--at", END.toISOString(), ...(json ? ["--json"] : [])], env);

        // 300 employees ("300" in headcount) x 15 x 12 = 54,000; no tier feature; 300 < 1,000: x 1.
        const payco = await explain("payco.example");
        expect(payco.code).toBe(0);
        expect(payco.stdout).toMatch(
          /PQR +\$54,000\/yr = 300 employees \(headcount\) x \$15\/employee\/month x 12 x 1\.0 size multiplier\n/,
        );
        const paycoJson = (await explain("acct_payco", true)).json as Explained;
        expect(paycoJson.pqr).toMatchObject({
          pqr: 54000,
          model: "per-employee",
          employees: 300,
          employeesFrom: "trait",
          employeesTrait: "headcount",
          pricePerEmployeePerMonth: 15,
          employeeRevenue: 54000,
          sizeMultiplier: 1,
        });
        expect(paycoJson.icp.facts).toContain("uses Gusto (hris)");
        // Its config was never calibrated: no probability.
        expect(paycoJson.probability).toBeNull();
        expect(payco.stdout).not.toContain("likely to convert");

        // No headcount: priced on its 2 active users, 2 x 15 x 12 = 360, and says so.
        const smallco = await explain("acct_smallco");
        expect(smallco.stdout).toMatch(
          /PQR +\$360\/yr = 2 employees \(active users; headcount unknown\) x \$15\/employee\/month x 12 x 1\.0 size multiplier\n/,
        );
      }, 120_000);
    },
  );
}
