import { describe, expect, it } from "vitest";
import {
  changedProperties,
  companyPropertyValues,
  ownerChange,
} from "../../../../src/integrations/hubspot/company-property-values.ts";
import type { StoredCalibration } from "../../../../src/store/calibration-store.ts";
import type { CompanyState } from "../../../../src/store/hubspot-store.ts";

const state: CompanyState = {
  accountId: "acct_1",
  companyId: "101",
  score: 82.5,
  tier: "hot",
  pqr: 12300.5,
  icp: 75,
  reasons: [
    "4 personas active in 30 days",
    "sent 31 offer letters in 30 days",
    "visited pricing 3x in 14 days",
    "fourth",
  ],
  scoredAt: new Date("2026-11-01T00:00:00Z"),
  configVersion: "abc123",
  routedAt: new Date("2026-11-01T00:00:00Z"),
  routedTo: "Ana Ruiz",
  claimedBy: "Ana Ruiz",
  claimedAt: new Date("2026-11-01T01:30:00Z"),
  claimerOwnerId: null,
  ownerRejected: null,
  written: {},
  rejected: null,
};

/** A calibration of the state's config: 0 -> 2%, 100 -> 60%, linear between. */
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

describe("companyPropertyValues", () => {
  it("renders every property as the string HubSpot stores, top 3 reasons, hours to claim", () => {
    expect(companyPropertyValues(state, null)).toEqual({
      pql_account_id: "acct_1",
      pql_score: "82.5",
      pql_tier: "hot",
      pql_pqr_estimate: "12300.5",
      pql_icp_score: "75",
      pql_top_reasons:
        "4 personas active in 30 days\nsent 31 offer letters in 30 days\nvisited pricing 3x in 14 days",
      pql_last_scored_at: "2026-11-01T00:00:00.000Z",
      pql_routed_at: "2026-11-01T00:00:00.000Z",
      pql_routed_to: "Ana Ruiz",
      pql_claimed_by: "Ana Ruiz",
      pql_claimed_at: "2026-11-01T01:30:00.000Z",
      pql_time_to_claim_hours: "1.5",
      pql_config_version: "abc123",
      pql_conversion_probability: "",
      pql_calibrated_at: "",
    });
  });

  it("gives the calibrated probability in percent and the calibration's date, only for a score of that config", () => {
    // 0.02 + 0.58 x 82.5 / 100 = 0.4985: 50%.
    expect(companyPropertyValues(state, calibration)).toMatchObject({
      pql_conversion_probability: "50",
      pql_calibrated_at: "2026-11-29",
    });
    expect(companyPropertyValues({ ...state, configVersion: "older" }, calibration)).toMatchObject({
      pql_conversion_probability: "",
      pql_calibrated_at: "",
    });
    expect(companyPropertyValues({ ...state, score: null }, calibration)).toMatchObject({
      pql_conversion_probability: "",
    });
  });

  it("writes the claimer as the company owner on its own: once, never a value HubSpot refused, never cleared", () => {
    expect(companyPropertyValues({ ...state, claimerOwnerId: "9001" }, null)).not.toHaveProperty(
      "hubspot_owner_id",
    );
    expect(ownerChange({ ...state, claimerOwnerId: "9001" })).toBe("9001");
    expect(ownerChange(state)).toBeNull();
    expect(
      ownerChange({ ...state, claimerOwnerId: "9001", written: { hubspot_owner_id: "9001" } }),
    ).toBeNull();
    expect(ownerChange({ ...state, claimerOwnerId: "9001", ownerRejected: "9001" })).toBeNull();
    expect(ownerChange({ ...state, claimerOwnerId: "9002", ownerRejected: "9001" })).toBe("9002");
  });

  it("clears what is unknown: no ICP, never routed, never claimed", () => {
    const p = companyPropertyValues(
      {
        ...state,
        icp: null,
        routedAt: null,
        routedTo: null,
        claimedBy: null,
        claimedAt: null,
      },
      null,
    );
    expect(p).toMatchObject({
      pql_icp_score: "",
      pql_routed_at: "",
      pql_routed_to: "",
      pql_claimed_at: "",
      pql_time_to_claim_hours: "",
    });
  });
});

describe("changedProperties", () => {
  const desired = { pql_score: "82.5", pql_tier: "hot", pql_icp_score: "" };

  it("sends everything the first time, empty values included (they establish what was written)", () => {
    expect(changedProperties(desired, {}, null)).toEqual(desired);
  });

  it("sends only what differs from the last successful write, and nothing when nothing changed", () => {
    expect(changedProperties(desired, { pql_score: "80", pql_tier: "hot", pql_icp_score: "" }, null)).toEqual(
      {
        pql_score: "82.5",
      },
    );
    expect(changedProperties(desired, desired, null)).toEqual({});
  });

  it("does not resend exactly what HubSpot rejected, but does once the values change", () => {
    const written = { pql_score: "80", pql_tier: "hot", pql_icp_score: "" };
    expect(changedProperties(desired, written, { pql_score: "82.5" })).toEqual({});
    expect(changedProperties({ ...desired, pql_score: "83" }, written, { pql_score: "82.5" })).toEqual({
      pql_score: "83",
    });
  });
});
