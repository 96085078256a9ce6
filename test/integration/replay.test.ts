import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import type { PqlConfig } from "../../src/config/schema.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import type { AccountFeatures } from "../../src/signals/account-features.ts";
import { personaMatcher } from "../../src/signals/persona.ts";
import { readAccountFeatures } from "../../src/store/account-features-query.ts";
import { personaKeys } from "../../src/store/persona-store.ts";
import { featuresAt, prepare } from "../../src/tuning/replay.ts";
import { DAY_MS, readAccountHistories } from "../../src/tuning/replay-query.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore, tempDir } from "../helpers/databases.ts";
import { jobContext } from "../helpers/runtime.ts";
import { slackConfig } from "../helpers/slack-world.ts";

const END = new Date("2026-10-01T00:00:00Z");
const baseline = slackConfig();
/** A candidate with other windows, another persona set and a prefix page signal: keys namespaced per config. */
const candidate: PqlConfig = slackConfig((c) => {
  c.scoring.activeWindowDays = 7;
  for (const s of c.signals) s.windowDays = Math.max(3, Math.round(s.windowDays / 2));
  c.personas = c.personas.slice(0, 2);
});

function plain(features: AccountFeatures[]) {
  return features.map((f) => JSON.parse(JSON.stringify(f)));
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(`replay on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`, () => {
    let store: TestStore;
    beforeAll(async () => {
      store = await createTestStore(engine.name);
      const world = await generateWorld({
        accounts: 40,
        days: 120,
        seed: 11,
        end: END,
        out: path.join(tempDir(), "w.ndjson"),
      });
      await importFile(jobContext(store.db, baseline), world.file);
    });
    afterAll(async () => {
      await store?.dispose();
    });

    it("rebuilds, from daily rollups read once, exactly the features the live query returns at each point", async () => {
      const ids = (await store.db.sql.query<{ id: string }>("SELECT id FROM accounts ORDER BY id")).rows.map(
        (r) => r.id,
      );
      const configs = [baseline, candidate];
      const personas = await Promise.all(
        configs.map((c) => personaKeys(store.db, personaMatcher(c.personas))),
      );
      const histories = (await readAccountHistories(store.db, configs, END, ids, personas)).map(prepare);
      expect(histories.map((h) => h.history.accountId)).toEqual(ids);
      const endDay = END.getTime() / DAY_MS;
      let compared = 0;
      for (const back of [0, 9, 30, 61, 100, 119, 130]) {
        const day = endDay - back;
        const at = new Date(day * DAY_MS);
        for (const [i, config] of configs.entries()) {
          const live = (
            await readAccountFeatures(store.db, config, at, ids, personas[i] ?? [], { previousCounts: true })
          ).filter((f) => f.firstSeenAt !== null);
          const replayed = histories
            .map((h) => featuresAt(h, config, i, day))
            .filter((f): f is AccountFeatures => f !== null);
          expect(
            plain(replayed),
            `${config === baseline ? "baseline" : "candidate"} at ${at.toISOString()}`,
          ).toEqual(plain(live));
          compared += replayed.length;
        }
      }
      // Not vacuous: most accounts exist at most points.
      expect(compared).toBeGreaterThan(200);
    });
  });
}
