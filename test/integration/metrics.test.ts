import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCycle } from "../../src/app/jobs/cycle.ts";
import { ROOT } from "../helpers/cli.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore } from "../helpers/databases.ts";
import { listeningRuntime } from "../helpers/runtime.ts";

const WRITE_KEY = "metrics-test-write-key";
const AUTH = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`;

/** The value of a Prometheus sample line `name{labels} value` (labels as written), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `GET /metrics on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      beforeAll(async () => {
        store = await createTestStore(engine.name);
      });
      afterAll(async () => {
        await store?.dispose();
      });

      it("serves Prometheus text: ingest counts, cycle and stage durations, routings and queues", async () => {
        const { rt, base } = await listeningRuntime(store.db, {
          writeKey: WRITE_KEY,
          env: { PQL_CONFIG: path.join(ROOT, "test", "fixtures", "full.config.yaml") },
        });
        try {
          const at = new Date().toISOString();
          const batch = {
            batch: [
              {
                type: "group",
                userId: "u1",
                groupId: "g1",
                traits: { name: "Acme", domain: "acme.example" },
                timestamp: at,
              },
              { type: "track", userId: "u1", event: "Signed up", timestamp: at, messageId: "m-1" },
              { type: "track", userId: "u1", event: "Signed up", timestamp: at, messageId: "m-1" },
            ],
          };
          const posted = await fetch(`${base}/v1/batch`, {
            method: "POST",
            headers: { authorization: AUTH, "content-type": "application/json" },
            body: JSON.stringify(batch),
          });
          expect(posted.status).toBe(200);
          const result = await runCycle(rt);
          expect(result.status).toBe("ok");
          const res = await fetch(`${base}/metrics`);
          expect(res.status).toBe(200);
          expect(res.headers.get("content-type")).toContain("text/plain");
          const text = await res.text();
          expect(sample(text, 'pql_ingest_messages_total{result="accepted"}')).toBe(2);
          expect(sample(text, 'pql_ingest_messages_total{result="duplicate"}')).toBe(1);
          expect(sample(text, 'pql_cycle_duration_seconds_count{status="ok"}')).toBe(1);
          expect(sample(text, 'pql_stage_duration_seconds_count{stage="score",status="ok"}')).toBe(1);
          expect(sample(text, "pql_accounts_scored_total")).toBe(1);
          expect(sample(text, 'pql_accounts{tier="cold"}')).toBe(1);
          expect(sample(text, 'pql_pending{queue="slack_posts"}')).toBe(0);
          expect(sample(text, 'pql_pending{queue="hubspot_tasks"}')).toBe(0);
          expect(sample(text, "pql_last_successful_cycle_timestamp_seconds")).toBeGreaterThan(
            Date.now() / 1000 - 60,
          );
          expect(text).toContain("# TYPE pql_stage_duration_seconds histogram");
        } finally {
          await rt.close();
        }
      });
    },
  );
}
