import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { syncOutcomes } from "../../src/app/jobs/hubspot-outcomes.ts";
import { syncHubSpot } from "../../src/app/jobs/hubspot-sync.ts";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { runScorePass } from "../../src/app/jobs/score-pass.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import type { PqlConfig } from "../../src/config/schema.ts";
import { createHubSpotHttp, type HubSpotHttp } from "../../src/integrations/hubspot/hubspot-http.ts";
import { COMPANY_PROPERTIES, TASK_ROUTING_KEY } from "../../src/integrations/hubspot/property-definitions.ts";
import { setupProperties } from "../../src/integrations/hubspot/property-setup.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import { saveCalibration } from "../../src/store/calibration-store.ts";
import { ROOT } from "../helpers/cli.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore, tempDir } from "../helpers/databases.ts";
import { FakeHubSpot } from "../helpers/fake-hubspot.ts";
import { jobContext } from "../helpers/runtime.ts";

const base = loadConfig(path.join(ROOT, "pql-router.config.yaml"));
const END = new Date("2026-11-01T00:00:00Z");
const LIMITS = { perTenSeconds: 100, daily: 250_000, searchPerSecond: 5, maxRetries: 3 };
const dir = tempDir();
let worldFile: string;

beforeAll(async () => {
  worldFile = (
    await generateWorld({ accounts: 80, days: 30, seed: 11, end: END, out: path.join(dir, "w.ndjson") })
  ).file;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The config with the HubSpot section adjusted for a test. */
function withHubSpot(patch: Partial<PqlConfig["hubspot"]["companies"]>, ownerEmail?: string): PqlConfig {
  const c = structuredClone(base.config);
  c.hubspot.companies = { ...c.hubspot.companies, ...patch };
  if (ownerEmail) c.hubspot.tasks.ownerEmail = ownerEmail;
  return c;
}

const bodies = (fake: FakeHubSpot, pathname: string) =>
  fake.requests
    .filter((r) => r.path === pathname && r.status < 300)
    .map((r) => r.body as { inputs: unknown[] });

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `HubSpot sync on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      let fake: FakeHubSpot;
      let http: HubSpotHttp;
      const tiers = new Map<string, string>();

      beforeAll(async () => {
        store = await createTestStore(engine.name);
        await importFile(jobContext(store.db, base), worldFile);
        const pass = await runScorePass(jobContext(store.db, base), { now: END, route: true });
        expect(pass.routed).toBe(pass.tiers.hot);
        const { rows } = await store.db.sql.query<{ account_id: string; tier: string }>(
          "SELECT account_id, tier FROM score_snapshots",
        );
        for (const r of rows) tiers.set(r.account_id, r.tier);
      });
      afterAll(async () => {
        await store?.dispose();
      });
      beforeEach(async () => {
        // Every test starts from a portal and a sync state of its own.
        fake = new FakeHubSpot({ token: "pat-test-secret" });
        http = createHubSpotHttp({
          accessToken: "pat-test-secret",
          baseUrl: await fake.start(),
          limits: LIMITS,
        });
        await store.db.sql.exec(
          `DELETE FROM hubspot_companies; DELETE FROM hubspot_owners; UPDATE accounts SET hubspot_company_id = NULL;
        UPDATE routing_decisions SET hubspot_task_id = NULL, hubspot_task_sent_at = NULL, hubspot_task_error = NULL;`,
        );
      });
      afterEach(async () => {
        await fake.stop();
      });
      const ids = (tier: string) =>
        [...tiers]
          .filter(([, t]) => t === tier)
          .map(([id]) => id)
          .sort();
      const domainOf = async (accountId: string) =>
        (
          await store.db.sql.query<{ domain: string }>("SELECT domain FROM accounts WHERE id = $1", [
            accountId,
          ])
        ).rows[0]?.domain as string;
      const sync = (config: PqlConfig, client = http) =>
        syncHubSpot(jobContext(store.db, config, END), client);

      it("sets up the property group and properties once: a second run makes no write call", async () => {
        const first = await setupProperties(http);
        expect(first.created.filter((c) => c.kind === "property")).toHaveLength(
          COMPANY_PROPERTIES.length + 1,
        );
        expect(first.conflicts).toEqual([]);
        const created = bodies(fake, "/crm/v3/properties/companies/batch/create")[0];
        expect(created?.inputs).toContainEqual(
          expect.objectContaining({
            name: "pql_tier",
            type: "enumeration",
            fieldType: "select",
            groupName: "product_qualified",
          }),
        );
        // Tasks cannot require unique values in HubSpot (the fake refuses it as HubSpot does).
        expect(fake.properties.get("tasks")?.get(TASK_ROUTING_KEY)).toMatchObject({ type: "string" });
        expect(fake.properties.get("tasks")?.get(TASK_ROUTING_KEY)?.hasUniqueValue).not.toBe(true);
        const writes = () => fake.requests.filter((r) => r.method !== "GET").length;
        const before = writes();
        const second = await setupProperties(http);
        expect(second.created).toEqual([]);
        expect(writes()).toBe(before);
      });

      it("reports a property that exists with another type and never overwrites it", async () => {
        fake.properties.get("companies")?.set("pql_score", {
          name: "pql_score",
          label: "Somebody else's score",
          type: "string",
          fieldType: "text",
          groupName: "companyinformation",
        });
        const report = await setupProperties(http);
        expect(report.conflicts).toEqual([
          { object: "companies", name: "pql_score", expected: "number", found: "string" },
        ]);
        expect(fake.properties.get("companies")?.get("pql_score")?.type).toBe("string");
        const created = bodies(fake, "/crm/v3/properties/companies/batch/create").flatMap((b) => b.inputs);
        expect(created).not.toContainEqual(expect.objectContaining({ name: "pql_score" }));
      });

      it("matches by stored id and by domain, creates hot ones, writes scores, creates tasks; then a steady state makes zero calls", async () => {
        await setupProperties(http);
        const [storedHot, domainHot, ...otherHot] = ids("hot");
        const [domainWarm, ...otherWarm] = ids("warm");
        // One company known by id, two findable by domain (one in capitals), one owner for tasks.
        const stored = fake.addCompany({ name: "Stored Co" });
        await store.db.sql.query("UPDATE accounts SET hubspot_company_id = $2 WHERE id = $1", [
          storedHot,
          stored,
        ]);
        const byDomainHot = fake.addCompany({
          name: "Domain Hot",
          domain: (await domainOf(domainHot as string)).toUpperCase(),
        });
        const byDomainWarm = fake.addCompany({
          name: "Domain Warm",
          domain: await domainOf(domainWarm as string),
        });
        fake.addOwner("revops@example.com", "Rev", "Ops");
        const ownerId = fake.owners[0]?.id;
        const before = fake.companies.size;

        const result = await sync(withHubSpot({ createTiers: ["hot"] }, "revops@example.com"));
        const hot = ids("hot").length;
        expect(result).toMatchObject({
          companiesMatched: 2,
          companiesCreated: otherHot.length,
          companiesUnmatched: otherWarm.length,
          companiesWritten: hot + 1,
          tasksCreated: hot,
          failed: 0,
          stoppedBy: null,
        });
        // Searches: one IN filter of lower-cased domains, never the stored account.
        const searches = bodies(fake, "/crm/v3/objects/companies/search") as unknown as {
          filterGroups: { filters: { propertyName: string; operator: string; values: string[] }[] }[];
        }[];
        const searched = searches.flatMap((s) => s.filterGroups[0]?.filters[0]?.values ?? []);
        expect(searches[0]?.filterGroups[0]?.filters[0]).toMatchObject({
          propertyName: "domain",
          operator: "IN",
        });
        const { rows: expected } = await store.db.sql.query<{ n: number }>(
          "SELECT count(DISTINCT lower(domain))::int AS n FROM accounts WHERE id = ANY($1::text[]) AND domain IS NOT NULL",
          [[...ids("hot"), ...ids("warm")].filter((id) => id !== storedHot)],
        );
        // Each domain once, and once more in its www. form (HubSpot compares values as stored).
        const plain = searched.filter((d) => !d.startsWith("www."));
        expect(plain).toHaveLength(expected[0]?.n ?? -1);
        expect(searched.filter((d) => d.startsWith("www.")).sort()).toEqual(
          plain.map((d) => `www.${d}`).sort(),
        );
        expect(searched).not.toContain(await domainOf(storedHot as string));
        // Created companies carry our account id (the upsert key), so a rerun cannot duplicate them.
        expect(fake.companies.size).toBe(before + otherHot.length);
        // Scores written where they belong.
        const company = fake.companies.get(byDomainWarm)?.properties;
        const { rows } = await store.db.sql.query<{ score: number; pqr: string }>(
          "SELECT score, pqr FROM score_snapshots WHERE account_id = $1",
          [domainWarm],
        );
        expect(company).toMatchObject({
          pql_account_id: domainWarm,
          pql_tier: "warm",
          pql_score: String(rows[0]?.score),
          pql_pqr_estimate: String(Number(rows[0]?.pqr)),
          pql_last_scored_at: END.toISOString(),
        });
        // The sync assigned the routing (round robin in its pool): "routed to" names the rep.
        expect(fake.companies.get(byDomainHot)?.properties.pql_routed_to).toMatch(
          /^(Ana Ruiz|Ben Okafor|Chloe Martin|Dev Patel)$/,
        );
        // One task per routed account, associated with its company (type 192), owned by the config's owner.
        expect(fake.tasks.size).toBe(hot);
        const task = [...fake.tasks.values()].find((t) => t.associations.some((a) => a.toId === stored));
        expect(task?.associations).toEqual([
          {
            toObjectType: "companies",
            toId: stored,
            associationTypeId: 192,
            associationCategory: "HUBSPOT_DEFINED",
          },
        ]);
        expect(task?.properties).toMatchObject({
          hs_task_priority: "HIGH",
          hs_task_status: "NOT_STARTED",
          hubspot_owner_id: ownerId,
          pql_routing_key: `pqlr:${storedHot}:${END.toISOString()}`,
          hs_timestamp: new Date(END.getTime() + 24 * 3_600_000).toISOString(),
        });
        expect(task?.properties.hs_task_body).toContain("PQL score");

        // Steady state: nothing changed, nothing to search again yet: zero calls of any kind.
        const calls = fake.requests.length;
        const again = await sync(withHubSpot({ createTiers: ["hot"] }, "revops@example.com"));
        expect(again).toMatchObject({ companiesWritten: 0, tasksCreated: 0, companiesUnchanged: hot + 1 });
        expect(fake.requests.length).toBe(calls);
      });

      it("matches a company stored with the www. form of an account's domain", async () => {
        await setupProperties(http);
        const [account] = ids("hot");
        const company = fake.addCompany({
          name: "Www Co",
          domain: `www.${await domainOf(account as string)}`,
        });
        const result = await sync(withHubSpot({ syncTiers: ["hot"], createTiers: [] }));
        expect(result.companiesMatched).toBeGreaterThanOrEqual(1);
        const { rows } = await store.db.sql.query<{ company_id: string }>(
          "SELECT company_id FROM hubspot_companies WHERE account_id = $1",
          [account],
        );
        expect(rows[0]?.company_id).toBe(company);
      });

      it("writes 250 changed companies in 3 update calls of 100, 100 and 50", async () => {
        await setupProperties(http);
        // 250 scored accounts of their own, each matched to a company of its own.
        const companies = Array.from({ length: 250 }, (_, i) => fake.addCompany({ name: `Co ${i}` }));
        await store.db.sql.query(
          `INSERT INTO accounts (id, name) SELECT 'bulk_' || g, 'Bulk ' || g FROM generate_series(1, 250) g`,
        );
        await store.db.sql.query(
          `INSERT INTO score_snapshots (account_id, as_of, score, tier, pqr, components, reasons, features, config_version)
          SELECT 'bulk_' || g, $1, 50, 'warm', 1000, '[]', '[]', '{}', 'test' FROM generate_series(1, 250) g`,
          [END.toISOString()],
        );
        await store.db.sql.query(
          `INSERT INTO hubspot_companies (account_id, company_id, matched_by)
          SELECT 'bulk_' || g, ($1::text[])[g], 'domain' FROM generate_series(1, 250) g`,
          [companies],
        );
        const result = await sync(withHubSpot({ syncTiers: [] }));
        const updates = bodies(fake, "/crm/v3/objects/companies/batch/update");
        expect(updates.map((u) => u.inputs.length).sort((a, b) => b - a)).toEqual([100, 100, 50]);
        expect(result.companiesWritten).toBe(250);
        expect(fake.companies.get(companies[249] as string)?.properties.pql_account_id).toBe("bulk_250");
        await store.db.sql.exec(
          "DELETE FROM hubspot_companies; DELETE FROM score_snapshots WHERE account_id LIKE 'bulk_%'; DELETE FROM accounts WHERE id LIKE 'bulk_%'",
        );
      });

      it("backs off on a 429 and retries an update's 5xx; a create's 5xx waits for the next sync; all exactly once", async () => {
        await setupProperties(http);
        const hot = ids("hot");
        for (const id of hot) fake.addCompany({ name: id, domain: await domainOf(id) });
        fake.script(
          { method: "POST", path: "/crm/v3/objects/companies/batch/update" },
          {
            status: 429,
            body: {
              status: "error",
              message: "You have reached your ten_secondly_rolling limit.",
              policyName: "TEN_SECONDLY_ROLLING",
            },
            headers: { "Retry-After": "1" },
          },
        );
        // Updates are idempotent: a 5xx is retried. A create is not resent: the next sync looks it up.
        fake.script({ method: "POST", path: "/crm/v3/objects/companies/batch/update" }, { status: 503 });
        fake.script({ method: "POST", path: "/crm/v3/objects/tasks/batch/create" }, { status: 503 });
        const result = await sync(withHubSpot({ syncTiers: ["hot"] }));
        expect(result).toMatchObject({
          rateLimited: 1,
          retries: 2,
          companiesWritten: hot.length,
          tasksCreated: 0,
        });
        const updated = bodies(fake, "/crm/v3/objects/companies/batch/update").flatMap((b) => b.inputs);
        expect(updated).toHaveLength(hot.length);
        const next = await sync(withHubSpot({ syncTiers: ["hot"] }));
        expect(next).toMatchObject({ tasksCreated: hot.length, tasksRecovered: 0, companiesWritten: 0 });
        expect(fake.tasks.size).toBe(hot.length);
        // Looked up among the companies' tasks (a direct read), never by an idProperty.
        expect(fake.requests.some((r) => r.path === "/crm/v4/associations/companies/tasks/batch/read")).toBe(
          true,
        );
      });

      it("records each record of a 207 on its own, and never retries a 400 until the values change", async () => {
        await setupProperties(http);
        const [gone, ...rest] = ids("hot");
        for (const id of rest) fake.addCompany({ name: id, domain: await domainOf(id) });
        // A company that was matched once and has since been deleted in HubSpot.
        await store.db.sql.query(
          "INSERT INTO hubspot_companies (account_id, company_id, matched_by) VALUES ($1, '99999999999', 'domain')",
          [gone],
        );
        const first = await sync(withHubSpot({ syncTiers: ["hot"], createTiers: [] }));
        expect(first.companiesWritten).toBe(rest.length);
        // Its update fails alone; the company is forgotten (to be matched again) and its task waits.
        expect(first.failures).toEqual([
          { accountId: gone, what: "company", reason: expect.stringMatching(/OBJECT_NOT_FOUND/) },
        ]);
        expect(first).toMatchObject({ tasksCreated: rest.length, tasksWaiting: 1 });
        const { rows } = await store.db.sql.query<{ company_id: string | null }>(
          "SELECT company_id FROM hubspot_companies WHERE account_id = $1",
          [gone],
        );
        expect(rows[0]?.company_id).toBeNull();
        // A lone 400 is recorded against its record and not sent again while the values are the same.
        await store.db.sql.query("UPDATE hubspot_companies SET written = '{}' WHERE account_id = $1", [
          rest[0],
        ]);
        fake.script(
          { method: "POST", path: "/crm/v3/objects/companies/batch/update" },
          {
            status: 400,
            body: {
              status: "error",
              category: "VALIDATION_ERROR",
              message: "Property values were not valid",
            },
          },
        );
        const second = await sync(withHubSpot({ syncTiers: ["hot"], createTiers: [] }));
        expect(second.failures).toEqual([
          { accountId: rest[0], what: "company", reason: expect.stringMatching(/^400 VALIDATION_ERROR/) },
        ]);
        expect(second.retries).toBe(0);
        const calls = fake.requests.length;
        const third = await sync(withHubSpot({ syncTiers: ["hot"], createTiers: [] }));
        expect(third).toMatchObject({ companiesWritten: 0, calls: 0, failed: 0 });
        expect(fake.requests.length).toBe(calls);
      });

      it("forgets a company deleted in HubSpot even when its write is the only one (a lone 4xx)", async () => {
        await setupProperties(http);
        const [gone] = ids("hot") as [string];
        await store.db.sql.query(
          "INSERT INTO hubspot_companies (account_id, company_id, matched_by) VALUES ($1, '99999999998', 'domain')",
          [gone],
        );
        const result = await sync(withHubSpot({ syncTiers: [], createTiers: [] }));
        expect(result.failures).toEqual([
          { accountId: gone, what: "company", reason: expect.stringMatching(/OBJECT_NOT_FOUND/) },
        ]);
        const { rows } = await store.db.sql.query<{ company_id: string | null }>(
          "SELECT company_id FROM hubspot_companies WHERE account_id = $1",
          [gone],
        );
        expect(rows[0]?.company_id).toBeNull();
      });

      it("gives a company to one account only when several share its domain, and never duplicates it", async () => {
        await setupProperties(http);
        const [first, second] = ids("hot") as [string, string];
        const domain = await domainOf(first);
        const own = await domainOf(second);
        await store.db.sql.query("UPDATE accounts SET domain = $2 WHERE id = $1", [
          second,
          domain.toUpperCase(),
        ]);
        try {
          const company = fake.addCompany({ name: "Shared", domain });
          const before = fake.companies.size;
          const result = await sync(withHubSpot({ syncTiers: ["hot"], createTiers: ["hot"] }));
          expect(fake.companies.size).toBe(before + ids("hot").length - 2);
          expect(fake.companies.get(company)?.properties.pql_account_id).toBe(first);
          expect(result.companiesUnmatched).toBe(1);
          const { rows } = await store.db.sql.query<{ company_id: string | null }>(
            "SELECT company_id FROM hubspot_companies WHERE account_id = $1",
            [second],
          );
          expect(rows[0]?.company_id).toBeNull();
          // Recorded as sharing: a later sync does not give it a company of its own either.
          const again = await sync(withHubSpot({ syncTiers: ["hot"], createTiers: ["hot"] }));
          expect(again.companiesCreated).toBe(0);
          expect(fake.companies.size).toBe(before + ids("hot").length - 2);
        } finally {
          await store.db.sql.query("UPDATE accounts SET domain = $2 WHERE id = $1", [second, own]);
        }
      });

      it("never resends a create HubSpot may have done (a 502 after the work): the next sync finds the tasks", async () => {
        await setupProperties(http);
        const hot = ids("hot");
        for (const id of hot) fake.addCompany({ name: id, domain: await domainOf(id) });
        fake.script(
          { method: "POST", path: "/crm/v3/objects/tasks/batch/create" },
          { status: 502, apply: true },
        );
        const first = await sync(withHubSpot({ syncTiers: ["hot"] }));
        expect(first).toMatchObject({ tasksCreated: 0, retries: 0, stoppedBy: null });
        expect(fake.tasks.size).toBe(hot.length);
        const second = await sync(withHubSpot({ syncTiers: ["hot"] }));
        expect(second).toMatchObject({ tasksCreated: 0, tasksRecovered: hot.length });
        expect(fake.requests.filter((r) => r.path === "/crm/v3/objects/tasks/batch/create")).toHaveLength(1);
        expect(fake.tasks.size).toBe(hot.length);
      });

      it("finds an unconfirmed task on a later page of its company's tasks, and under the company it was sent with", async () => {
        const paged = new FakeHubSpot({ token: "pat-test-secret", associationPageSize: 2 });
        const client = createHubSpotHttp({
          accessToken: "pat-test-secret",
          baseUrl: await paged.start(),
          limits: LIMITS,
        });
        try {
          await setupProperties(client);
          const hot = ids("hot");
          const companyOf = new Map<string, string>();
          for (const id of hot) companyOf.set(id, paged.addCompany({ name: id, domain: await domainOf(id) }));
          const [busy, moved] = hot as [string, string];
          // Three tasks of reps' own on the first account's company: ours lands on a later page.
          const others = await client.send({
            method: "POST",
            path: "/crm/v3/objects/tasks/batch/create",
            body: {
              inputs: [1, 2, 3].map((n) => ({
                properties: { hs_timestamp: END.toISOString(), hs_task_subject: `Rep task ${n}` },
                associations: [
                  {
                    to: { id: companyOf.get(busy) },
                    types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 192 }],
                  },
                ],
              })),
            },
          });
          expect(others.status).toBe(201);
          paged.script(
            { method: "POST", path: "/crm/v3/objects/tasks/batch/create" },
            { status: 502, apply: true },
          );
          const first = await sync(withHubSpot({ syncTiers: ["hot"] }), client);
          expect(first).toMatchObject({ tasksCreated: 0, stoppedBy: null });
          expect(paged.tasks.size).toBe(hot.length + 3);
          // The second account's company is matched anew (merged in HubSpot, say) before the rerun.
          const elsewhere = paged.addCompany({ name: "Merged Co" });
          await store.db.sql.query("UPDATE hubspot_companies SET company_id = $2 WHERE account_id = $1", [
            moved,
            elsewhere,
          ]);
          const second = await sync(withHubSpot({ syncTiers: ["hot"] }), client);
          expect(second).toMatchObject({ tasksCreated: 0, tasksRecovered: hot.length });
          // Two creates in all: the reps' own tasks, and ours once (never resent).
          expect(paged.requests.filter((r) => r.path === "/crm/v3/objects/tasks/batch/create")).toHaveLength(
            2,
          );
          expect(paged.tasks.size).toBe(hot.length + 3);
          const pages = paged.requests.filter(
            (r) =>
              r.path === "/crm/v4/associations/companies/tasks/batch/read" &&
              JSON.stringify(r.body).includes("after"),
          );
          expect(pages.length).toBeGreaterThan(0);
        } finally {
          await paged.stop();
        }
      });

      it("gives no task to a routing older than maxAgeHours when first sent", async () => {
        await setupProperties(http);
        const hot = ids("hot");
        for (const id of hot) fake.addCompany({ name: id, domain: await domainOf(id) });
        const later = new Date(END.getTime() + 73 * 3_600_000);
        const result = await syncHubSpot(
          jobContext(store.db, withHubSpot({ syncTiers: ["hot"] }), later),
          http,
        );
        expect(result).toMatchObject({ tasksCreated: 0, tasksSkipped: hot.length });
        expect(fake.tasks.size).toBe(0);
      });

      it("stops for the day on a daily 429; the rest stays queued", async () => {
        await setupProperties(http);
        const hot = ids("hot");
        for (const id of hot) fake.addCompany({ name: id, domain: await domainOf(id) });
        const tired = new FakeHubSpot({ token: "pat-test-secret", dailyBudget: 1 });
        const tiredHttp = createHubSpotHttp({
          accessToken: "pat-test-secret",
          baseUrl: await tired.start(),
          limits: LIMITS,
        });
        try {
          const result = await sync(withHubSpot({ syncTiers: ["hot"] }), tiredHttp);
          expect(result.stoppedBy).toMatch(/429 DAILY/);
          expect(result.calls).toBe(2);
        } finally {
          await tired.stop();
        }
        // Our own daily budget stops before HubSpot has to say so.
        const spent = createHubSpotHttp({
          accessToken: "pat-test-secret",
          baseUrl: "http://127.0.0.1:9",
          limits: { ...LIMITS, daily: 10 },
          usedToday: 10,
        });
        expect((await sync(withHubSpot({ syncTiers: ["hot"] }), spent)).stoppedBy).toMatch(
          /daily budget of 10/,
        );
        const { rows } = await store.db.sql.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM routing_decisions WHERE hubspot_task_id IS NULL",
        );
        expect(rows[0]?.n).toBe(hot.length);
      });

      it("reads won deals back into outcomes, keeping a conversion another source recorded", async () => {
        const [won, lost, importedWin] = ids("warm") as [string, string, string];
        const companies = new Map<string, string>();
        for (const id of [won, lost, importedWin] as string[])
          companies.set(id, fake.addCompany({ name: id }));
        await store.db.sql.query(
          `INSERT INTO hubspot_companies (account_id, company_id, matched_by)
        SELECT * FROM unnest($1::text[], $2::text[], array_fill('domain'::text, ARRAY[3]))`,
          [[...companies.keys()], [...companies.values()]],
        );
        fake.addDeal(
          { dealname: "A", dealstage: "closedwon", amount: "1200", closedate: "2026-10-20T00:00:00.000Z" },
          [companies.get(won) as string],
        );
        fake.addDeal(
          { dealname: "B", dealstage: "closedwon", amount: "300", closedate: "2026-10-25T00:00:00.000Z" },
          [companies.get(won) as string],
        );
        fake.addDeal({ dealname: "C", dealstage: "appointmentscheduled", amount: "999" }, [
          companies.get(lost) as string,
        ]);
        await store.db.sql.query(
          "INSERT INTO outcomes (account_id, converted, source) VALUES ($1, true, 'import') ON CONFLICT (account_id) DO UPDATE SET converted = true, source = 'import'",
          [importedWin],
        );
        const result = await syncOutcomes(jobContext(store.db, base), http);
        expect(result).toEqual({ companies: 3, converted: 1, notConverted: 1 });
        const { rows } = await store.db.sql.query<{
          account_id: string;
          converted: boolean;
          amount: string | null;
          converted_at: Date | null;
          source: string;
        }>(
          "SELECT account_id, converted, amount, converted_at, source FROM outcomes WHERE account_id = ANY($1::text[]) ORDER BY account_id",
          [[won, lost, importedWin]],
        );
        const byId = new Map(rows.map((r) => [r.account_id, r]));
        expect(byId.get(won as string)).toMatchObject({ converted: true, source: "hubspot" });
        expect(Number(byId.get(won as string)?.amount)).toBe(1500);
        expect(new Date(byId.get(won as string)?.converted_at as Date).toISOString()).toBe(
          "2026-10-20T00:00:00.000Z",
        );
        expect(byId.get(lost as string)).toMatchObject({ converted: false, source: "hubspot" });
        expect(byId.get(importedWin as string)).toMatchObject({ converted: true, source: "import" });
      });

      it("reads conversions from a company property when configured so", async () => {
        const [customer, lead] = ids("warm") as [string, string];
        const companies = [
          fake.addCompany({ name: customer, lifecyclestage: "customer" }),
          fake.addCompany({ name: lead, lifecyclestage: "lead" }),
        ];
        await store.db.sql.query(
          `INSERT INTO hubspot_companies (account_id, company_id, matched_by)
          SELECT * FROM unnest($1::text[], $2::text[], array_fill('domain'::text, ARRAY[2]))`,
          [[customer, lead], companies],
        );
        const config = structuredClone(base.config);
        config.hubspot.outcomes.from = "companyProperty";
        expect(await syncOutcomes(jobContext(store.db, config), http)).toEqual({
          companies: 2,
          converted: 1,
          notConverted: 1,
        });
        const reads = bodies(fake, "/crm/v3/objects/companies/batch/read") as unknown as {
          properties: string[];
        }[];
        expect(reads[0]?.properties).toEqual(["lifecyclestage"]);
        const { rows } = await store.db.sql.query<{ account_id: string; converted: boolean }>(
          "SELECT account_id, converted FROM outcomes WHERE account_id = ANY($1::text[]) ORDER BY account_id",
          [[customer, lead]],
        );
        expect(Object.fromEntries(rows.map((r) => [r.account_id, r.converted]))).toEqual({
          [customer]: true,
          [lead]: false,
        });
      });

      it("stops early when HubSpot is down and sends what is pending on the next sync", async () => {
        await setupProperties(http);
        const hot = ids("hot");
        for (const id of hot) fake.addCompany({ name: id, domain: await domainOf(id) });
        const down = new FakeHubSpot({ token: "pat-test-secret", faults: { rate5xx: 1, seed: 1 } });
        const downHttp = createHubSpotHttp({
          accessToken: "pat-test-secret",
          baseUrl: await down.start(),
          limits: { ...LIMITS, maxRetries: 1 },
        });
        try {
          const failed = await sync(withHubSpot({ syncTiers: ["hot"] }), downHttp);
          expect(failed.stoppedBy).toMatch(/HubSpot answered 50\d/);
          expect(failed.stoppedBy).not.toContain("pat-test-secret");
        } finally {
          await down.stop();
        }
        const recovered = await sync(withHubSpot({ syncTiers: ["hot"] }));
        expect(recovered).toMatchObject({
          stoppedBy: null,
          companiesWritten: hot.length,
          tasksCreated: hot.length,
        });
      });

      it("writes the calibrated probability and its date once the config is calibrated, and clears them when the config changes", async () => {
        await setupProperties(http);
        expect(fake.properties.get("companies")?.get("pql_conversion_probability")).toMatchObject({
          type: "number",
        });
        expect(fake.properties.get("companies")?.get("pql_calibrated_at")).toMatchObject({ type: "date" });
        const hot = ids("hot");
        const companies = new Map<string, string>();
        for (const id of hot) companies.set(id, fake.addCompany({ name: id, domain: await domainOf(id) }));
        // The config the accounts were scored with: its calibration is the one for their scores.
        const config = base.config;
        type Update = { inputs: { id: string; properties: Record<string, string> }[] };
        const updates = () => bodies(fake, "/crm/v3/objects/companies/batch/update") as unknown as Update[];
        const taskBodies = () =>
          (
            bodies(fake, "/crm/v3/objects/tasks/batch/create") as unknown as {
              inputs: { properties: Record<string, string> }[];
            }[]
          ).flatMap((b) => b.inputs.map((i) => i.properties.hs_task_body ?? ""));
        try {
          // Not calibrated: the properties are written empty, the task bodies say nothing of it.
          const first = await sync(config);
          expect(first).toMatchObject({ companiesWritten: hot.length, tasksCreated: hot.length, failed: 0 });
          for (const input of updates().flatMap((u) => u.inputs))
            expect(input.properties).toMatchObject({ pql_conversion_probability: "", pql_calibrated_at: "" });
          expect(taskBodies().some((b) => b.includes("likely to convert"))).toBe(false);
          const property = (id: string, name: string) =>
            fake.companies.get(companies.get(id) as string)?.properties[name] ?? null;
          expect(property(hot[0] as string, "pql_conversion_probability")).toBeNull();

          // Calibrated: 10% at 40 rising to 34% at 70 and above, so every hot account (70+) is ~34%.
          await saveCalibration(store.db, {
            configVersion: base.version,
            fittedAt: new Date("2026-10-30T08:00:00Z"),
            horizonDays: 90,
            model: { method: "isotonic", xs: [40, 70], ps: [0.1, 0.34] },
            period: { from: "2026-01-01", to: "2026-07-31", everyDays: 7 },
            observations: 500,
            conversions: 60,
            ece: 0.02,
            brier: 0.09,
          });
          const before = updates().length;
          const second = await sync(config);
          expect(second).toMatchObject({ companiesWritten: hot.length, failed: 0 });
          // Only what changed is sent: the probability and the date, nothing else.
          const sent = updates()
            .slice(before)
            .flatMap((u) => u.inputs);
          expect(sent).toHaveLength(hot.length);
          for (const input of sent)
            expect(input.properties).toEqual({
              pql_conversion_probability: "34",
              pql_calibrated_at: "2026-10-30",
            });
          expect(property(hot[0] as string, "pql_conversion_probability")).toBe("34");
          expect(property(hot[0] as string, "pql_calibrated_at")).toBe("2026-10-30");
          // Tasks made from now on say it next to the score.
          await store.db.sql.exec(
            "UPDATE routing_decisions SET hubspot_task_id = NULL, hubspot_task_sent_at = NULL, hubspot_task_error = NULL",
          );
          const tasksBefore = taskBodies().length;
          expect((await sync(config)).tasksCreated).toBe(hot.length);
          for (const body of taskBodies().slice(tasksBefore))
            expect(body).toMatch(
              /PQL score \d+\.\d, ~34% likely to convert in 90 days \(calibrated 2026-10-30\), PQR estimate/,
            );
          // Unchanged: no call.
          expect((await sync(config)).companiesWritten).toBe(0);

          // Another config has no calibration until `calibrate` runs for it: both are cleared.
          const changed = withHubSpot({ searchAgainAfterHours: 48 });
          const cleared = updates().length;
          expect((await sync(changed)).companiesWritten).toBe(hot.length);
          for (const input of updates()
            .slice(cleared)
            .flatMap((u) => u.inputs))
            expect(input.properties).toEqual({ pql_conversion_probability: "", pql_calibrated_at: "" });
          expect(property(hot[0] as string, "pql_conversion_probability")).toBeNull();
        } finally {
          await store.db.sql.exec("DELETE FROM cycle_runs WHERE kind = 'calibrate'");
        }
      });
    },
  );
}
