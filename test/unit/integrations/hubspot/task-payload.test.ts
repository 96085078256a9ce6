import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../../src/config/load-config.ts";
import { routingKey, taskInput } from "../../../../src/integrations/hubspot/task-payload.ts";
import type { StoredCalibration } from "../../../../src/store/calibration-store.ts";
import type { PendingTask } from "../../../../src/store/hubspot-store.ts";
import { ROOT } from "../../../helpers/cli.ts";

// The tests' own config: subject "PQL: {name} is hot (score {score}, PQR ${pqr})", due in 24 h, HIGH, TODO.
const config = loadConfig(path.join(ROOT, "test/fixtures/full.config.yaml")).config.hubspot;
const task: PendingTask = {
  decisionId: 7n,
  accountId: "acct_000042",
  name: "Acme <HR> & Co",
  domain: "acme.example",
  companyId: "9001",
  pool: "mid-market",
  repId: null,
  decidedAt: new Date("2026-11-01T09:00:00Z"),
  score: 81.26,
  tier: "hot",
  pqr: 12345.6,
  icp: 74.6,
  reasons: ["4 personas active in 30 days", "visited pricing 3x in 14 days"],
  configVersion: "abc123",
  sentAt: null,
  sentCompanyId: null,
  claimerId: null,
};

describe("taskInput", () => {
  it("builds the task HubSpot documents: subject, HTML body, due time, priority, routing key, association 192", () => {
    const input = taskInput(task, "9001", { ...config, portalId: "123" }, "555", null);
    expect(input.properties).toEqual({
      hs_task_subject: "PQL: Acme <HR> & Co is hot (score 81, PQR $12,346)",
      hs_task_body: expect.stringContaining(
        "<strong>Acme &lt;HR&gt; &amp; Co</strong> (acme.example) is hot",
      ),
      hs_timestamp: "2026-11-02T09:00:00.000Z",
      hs_task_priority: "HIGH",
      hs_task_status: "NOT_STARTED",
      hs_task_type: "TODO",
      hubspot_owner_id: "555",
      pql_routing_key: "pqlr:acct_000042:2026-11-01T09:00:00.000Z",
    });
    expect(input.properties.hs_task_body).toContain("<li>visited pricing 3x in 14 days</li>");
    expect(input.properties.hs_task_body).toContain(
      'href="https://app.hubspot.com/contacts/123/company/9001"',
    );
    expect(input.associations).toEqual([
      { to: { id: "9001" }, types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 192 }] },
    ]);
    expect(input.objectWriteTraceId).toBe(routingKey(task));
  });

  it("leaves the owner out when unknown and names the company id without a portal", () => {
    const input = taskInput(task, "9001", config, undefined, null);
    expect(input.properties).not.toHaveProperty("hubspot_owner_id");
    expect(input.properties.hs_task_body).toContain("HubSpot company 9001.");
  });

  it("puts the calibrated probability next to the score when the score's config is calibrated", () => {
    const calibration: StoredCalibration = {
      configVersion: "abc123",
      fittedAt: new Date("2026-11-29T06:00:00Z"),
      horizonDays: 90,
      model: { method: "isotonic", xs: [0, 100], ps: [0.02, 0.6] },
      period: { from: "2026-01-01", to: "2026-08-31", everyDays: 7 },
      observations: 1000,
      conversions: 80,
      ece: 0.01,
      brier: 0.07,
    };
    // 0.02 + 0.58 x 81.26 / 100 = 0.4913: 49%.
    expect(taskInput(task, "9001", config, undefined, calibration).properties.hs_task_body).toContain(
      "PQL score 81.3, ~49% likely to convert in 90 days (calibrated 2026-11-29), PQR estimate $12,346",
    );
    const other = { ...calibration, configVersion: "older" };
    expect(taskInput(task, "9001", config, undefined, other).properties.hs_task_body).toContain(
      "PQL score 81.3, PQR estimate $12,346",
    );
  });
});
