import { describe, expect, it } from "vitest";
import { type BatchOutcome, writeInBatches } from "../../../../src/integrations/hubspot/batch-write.ts";
import type {
  HubSpotHttp,
  HubSpotRequest,
  HubSpotResponse,
} from "../../../../src/integrations/hubspot/hubspot-http.ts";

/** An HubSpotHttp whose answers a test writes: called with each request's inputs. */
function scripted(answer: (ids: string[]) => HubSpotResponse) {
  const sent: string[][] = [];
  const http: HubSpotHttp = {
    stats: { calls: 0, retries: 0, rateLimited: 0 },
    async send<T>(request: HubSpotRequest) {
      const ids = (request.body as { inputs: { id: string }[] }).inputs.map((i) => i.id);
      sent.push(ids);
      return answer(ids) as HubSpotResponse<T>;
    },
  };
  return { http, sent };
}

async function write(http: HubSpotHttp, ids: string[]) {
  const outcomes: BatchOutcome<string>[] = [];
  const totals = await writeInBatches(http, ids, {
    path: "/crm/v3/objects/companies/batch/update",
    key: (id) => id,
    input: (id) => ({ id, properties: { pql_score: "1" } }),
    resultKey: (r) => r.id,
    settled: async (o) => {
      outcomes.push(o);
    },
  });
  return { totals, outcomes };
}

const ok = (ids: string[]) => ({ id: ids, results: ids.map((id) => ({ id, properties: {} })) });
const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));

describe("writeInBatches", () => {
  it("sends 100 records per call", async () => {
    const { http, sent } = scripted((batch) => ({ status: 200, body: ok(batch) }));
    const { totals } = await write(http, ids(250));
    expect(sent.map((s) => s.length).sort((a, b) => b - a)).toEqual([100, 100, 50]);
    expect(totals).toEqual({ ok: 250, rejected: 0, unconfirmed: 0 });
  });

  it("settles a 207 record by record: results ok, final errors rejected, transient errors sent once more alone", async () => {
    const { http, sent } = scripted((batch) => {
      if (batch.length === 1) return { status: 200, body: ok(batch) };
      return {
        status: 207,
        body: {
          results: batch.filter((id) => id !== "2" && id !== "3").map((id) => ({ id, properties: {} })),
          errors: [
            { category: "OBJECT_NOT_FOUND", message: "gone", context: { ids: ["2"] } },
            { category: "INTERNAL_ERROR", message: "try again", context: { ids: ["3"] } },
          ],
        },
      };
    });
    const { totals, outcomes } = await write(http, ids(4));
    expect(sent).toEqual([["1", "2", "3", "4"], ["3"]]);
    expect(totals).toEqual({ ok: 3, rejected: 1, unconfirmed: 0 });
    expect(outcomes[0]?.rejected).toEqual([
      { item: "2", reason: "OBJECT_NOT_FOUND: gone", category: "OBJECT_NOT_FOUND" },
    ]);
  });

  it("splits a batch answered 400 until the bad record stands alone, and records the 400 against it", async () => {
    const { http, sent } = scripted((batch) =>
      batch.includes("3")
        ? { status: 400, body: { category: "VALIDATION_ERROR", message: "bad value" } }
        : { status: 200, body: ok(batch) },
    );
    const { totals, outcomes } = await write(http, ids(4));
    expect(sent).toEqual([["1", "2", "3", "4"], ["1", "2"], ["3", "4"], ["3"], ["4"]]);
    expect(totals).toEqual({ ok: 3, rejected: 1, unconfirmed: 0 });
    expect(outcomes.flatMap((o) => o.rejected)).toEqual([
      { item: "3", reason: "400 VALIDATION_ERROR: bad value", category: "VALIDATION_ERROR" },
    ]);
  });

  it("stops on a missing property: a setup problem, not a record's", async () => {
    const { http } = scripted(() => ({
      status: 400,
      body: { category: "VALIDATION_ERROR", message: "x", errors: [{ code: "PROPERTY_DOESNT_EXIST" }] },
    }));
    await expect(write(http, ids(3))).rejects.toMatchObject({
      code: "hubspot_rejected",
      hint: expect.stringContaining("pql-router hubspot setup"),
    });
  });

  it("leaves what it cannot tie to a record unconfirmed, to be sent again next cycle", async () => {
    const { http } = scripted((batch) => ({
      status: 207,
      body: {
        results: [{ id: batch[0], properties: {} }],
        errors: [{ category: "VALIDATION_ERROR", message: "?" }],
      },
    }));
    const { totals } = await write(http, ids(3));
    expect(totals).toEqual({ ok: 1, rejected: 0, unconfirmed: 2 });
  });
});
