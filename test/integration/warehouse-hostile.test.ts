import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import type { PqlConfig } from "../../src/config/schema.ts";
import { openClickhouse } from "../../src/integrations/clickhouse/clickhouse-client.ts";
import type { AccountFeatures } from "../../src/signals/account-features.ts";
import { personaMatcher } from "../../src/signals/persona.ts";
import { builtinSource, openSource, type SignalSource } from "../../src/sources/signal-source.ts";
import {
  clickhouseAvailable,
  createClickhouseDatabase,
  SKIP_CLICKHOUSE_REASON,
  type TestClickhouseDatabase,
} from "../helpers/clickhouse.ts";
import { createTestStore, type TestStore, tempDir } from "../helpers/databases.ts";
import { SCORING_CONFIG } from "../helpers/scoring.ts";
import { loadClickhouseWarehouse, presetSource, toSegmentWarehouse } from "../helpers/warehouse-world.ts";

const END = new Date("2026-11-01T00:00:00.000Z");
const at = (hoursBefore: number) => new Date(END.getTime() - hoursBefore * 3_600_000).toISOString();

/** Values that break naive SQL: quotes, backslashes, a quote after a backslash, LIKE wildcards, NUL-free unicode. */
const ACCOUNT = `o'brien\\co "ü" 🚀 \\' ; DROP TABLE tracks; --`;
const OTHER = "plain-account";
const EVENT = `Offer 'Letter' \\Sent\\ 📨`;
const PATH = `/pricing/it's_50%\\off`;
const TITLE = `HR lead 'ops' \\ ناظر`;

/** The scoring fixture with signals named by those values: an exact event and a page prefix with wildcards in it. */
const config: PqlConfig = structuredClone(SCORING_CONFIG);
(config.signals[0] as PqlConfig["signals"][number]).match = { events: [EVENT] };
(config.signals[4] as PqlConfig["signals"][number]).match = { pages: [`/pricing/it's_50%*`] };

function messages(): Record<string, unknown>[] {
  const list: Record<string, unknown>[] = [];
  const add = (m: Record<string, unknown>, hoursBefore: number) =>
    list.push({ messageId: `m${list.length}`, timestamp: at(hoursBefore), ...m });
  for (const account of [ACCOUNT, OTHER]) {
    const user = `${account}:u1`;
    add({ type: "identify", userId: user, traits: { title: TITLE, email: "a@b.example" } }, 100);
    add(
      {
        type: "group",
        userId: user,
        groupId: account,
        traits: {
          name: `${account} Inc. 'quoted' \\`,
          industry: `Hospitality\\'s "best" 🍕`,
          employees: 120,
          tech_stack: ["Ba'mboo\\HR", "Slack"],
        },
      },
      99,
    );
    add({ type: "track", userId: user, event: EVENT, context: { groupId: account } }, 50);
    add({ type: "track", userId: user, event: `${EVENT}x`, context: { groupId: account } }, 49);
    add({ type: "page", userId: user, name: "Pricing", properties: { path: PATH } }, 10);
    // A page whose path only matches if % and _ are taken literally must not count.
    add({ type: "page", userId: user, properties: { path: "/pricing/itXs_50Xoff" } }, 9);
    add({ type: "page", anonymousId: `anon ${account}`, properties: { path: PATH } }, 120);
    add({ type: "alias", previousId: `anon ${account}`, userId: user }, 101);
    // A user of no account carrying an aliased anonymous id: the user decides, so it counts nowhere.
    add({ type: "track", userId: `${account}:stray`, anonymousId: `anon ${account}`, event: EVENT }, 30);
  }
  return list;
}

async function features(source: SignalSource): Promise<AccountFeatures[]> {
  const ids = await source.accountIds(END);
  const read = await source.featureReader(config, personaMatcher(config.personas), { previousCounts: true });
  return read(END, ids);
}

describe.skipIf(!clickhouseAvailable)("hostile values through ClickHouse literals", () => {
  let builtin: TestStore;
  let warehouse: TestClickhouseDatabase;

  beforeAll(async () => {
    const dir = tempDir("pqlr-hostile-");
    const file = path.join(dir, "hostile.ndjson");
    fs.writeFileSync(
      file,
      `${messages()
        .map((m) => JSON.stringify(m))
        .join("\n")}\n`,
    );
    builtin = await createTestStore("embedded");
    await importFile({ db: builtin.db, clock: { now: () => END.getTime(), sleep: async () => {} } }, file);
    warehouse = await createClickhouseDatabase("pqlr_hostile");
    const ch = openClickhouse(warehouse.url);
    try {
      const receivedAt = (m: Record<string, unknown>) => new Date(String(m.timestamp));
      await loadClickhouseWarehouse(ch, warehouse.database, toSegmentWarehouse(messages(), receivedAt), {
        sharded: true,
      });
    } finally {
      await ch.close();
    }
  }, 120_000);

  afterAll(async () => {
    await builtin?.dispose();
    await warehouse?.drop();
  });

  it("account ids, event names, page paths and traits arrive intact, and match exactly what the builtin store matches", async () => {
    const expected = await features(builtinSource(builtin.db));
    const source = await openSource(
      {
        ...config,
        source: presetSource("clickhouse", warehouse.database, 10),
      },
      builtin.db,
      warehouse.url,
    );
    try {
      const got = await features(source);
      expect(got.map((f) => f.accountId)).toEqual([ACCOUNT, OTHER].sort());
      const hostile = got.find((f) => f.accountId === ACCOUNT);
      expect(hostile?.name).toBe(`${ACCOUNT} Inc. 'quoted' \\`);
      expect(hostile?.firmographics.industry).toBe(`Hospitality\\'s "best" 🍕`);
      expect(hostile?.firmographics.techStack).toEqual(["Ba'mboo\\HR", "Slack"]);
      expect(hostile?.personas).toEqual(["hr_admin"]);
      // The exact event once (not its longer twin); both pricing views (one anonymous, aliased), not the look-alike.
      expect(hostile?.signals.a1?.count).toBe(1);
      expect(hostile?.signals.p1?.count).toBe(2);
      expect(got).toEqual(expected);
    } finally {
      await source.close();
    }
  });
});

if (!clickhouseAvailable) describe.skip(SKIP_CLICKHOUSE_REASON, () => {});
