import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import { ROOT, runCli } from "../helpers/cli.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore, tempDir } from "../helpers/databases.ts";
import { jobContext } from "../helpers/runtime.ts";
import { writeConfig } from "../helpers/slack-world.ts";

// Data that ended four weeks before today: older than the shipped config's 14-day windows.
const END = new Date(Date.now() - 28 * 86_400_000);
const shipped = loadConfig(path.join(ROOT, "pql-router.config.yaml"));

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `what a first-time RevOps user is told, on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      const misspelt = structuredClone(shipped.config);
      const first = misspelt.signals[0] as (typeof misspelt.signals)[number];
      first.match = { events: ["Offer Leter Sent"] };
      const file = writeConfig(tempDir(), misspelt);

      beforeAll(async () => {
        store = await createTestStore(engine.name);
        const world = await generateWorld({
          accounts: 30,
          days: 30,
          seed: 8,
          end: END,
          out: path.join(tempDir(), "w.ndjson"),
        });
        await importFile(jobContext(store.db, shipped), world.file);
        if (engine.name === "embedded") await store.close();
      });
      afterAll(async () => {
        await store?.dispose();
      });

      it("config check --against-data names a signal no stored event matches, and the events nothing matches", async () => {
        const run = await runCli(["config", "check", file.path, "--against-data", "--json"], store.env);
        expect(run.code, run.stderr).toBe(0);
        const json = run.json as {
          ok: boolean;
          warnings: string[];
          coverage: {
            matched: Record<string, number>;
            unmatched: { type: string; event: string; messages: number }[];
          };
        };
        expect(json.ok).toBe(true);
        expect(json.coverage.matched[first.key]).toBe(0);
        expect(json.coverage.matched[misspelt.signals[1]?.key as string]).toBeGreaterThan(0);
        expect(json.warnings).toContain(
          `signal ${first.key} matches no stored event: check its match (events "Offer Leter Sent")`,
        );
        expect(json.coverage.unmatched.map((u) => u.event)).toContain("Offer Letter Sent");
        const text = await runCli(["config", "check", file.path, "--against-data"], store.env);
        expect(text.stdout).toContain(`warning: signal ${first.key} matches no stored event`);
        expect(text.stdout).toMatch(/track "Offer Letter Sent": [\d,]+/);
      });

      it("score at the wall clock on stale data says so, with the --at to use", async () => {
        const env = { ...store.env, PQL_CONFIG: shipped.path };
        const run = await runCli(["score", "--json"], env);
        expect(run.code, run.stderr).toBe(0);
        const { warnings } = run.json as { warnings: string[] };
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain("older than the shortest window (14 days");
        expect(warnings[0]).toMatch(/add --at \d{4}-\d{2}-\d{2}$/);
        const atData = await runCli(["score", "--at", END.toISOString(), "--json"], env);
        expect((atData.json as { warnings: string[] }).warnings).toEqual([]);
        const evaluate = await runCli(["evaluate"], env);
        expect(evaluate.stdout).toMatch(/^warning: the newest event/m);
      });
    },
  );
}
