import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { runScorePass } from "../../src/app/jobs/score-pass.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import { ROOT, runCli } from "../helpers/cli.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore, tempDir } from "../helpers/databases.ts";
import { jobContext } from "../helpers/runtime.ts";

const END = new Date("2026-11-01T00:00:00Z");
const CONFIG = path.join(ROOT, "pql-router.config.yaml");
const tiers = loadConfig(CONFIG).config.tiers;

interface Explained {
  score: number;
  tier: string;
  nextTier: { tier: string; at: number; pointsToGo: number } | null;
  activityTrendPct: number | null;
  reasons: string[];
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
    },
  );
}
