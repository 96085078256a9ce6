import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configSchema, type PqlConfig } from "../../src/config/schema.ts";
import {
  alertState,
  alertView,
  channelPlans,
  digestItem,
  hubspotCompanyUrl,
  mayAct,
  memberBySlackId,
  members,
} from "../../src/integrations/slack/routing-views.ts";
import type { StoredCalibration } from "../../src/store/calibration-store.ts";
import type { DecisionRow } from "../../src/store/slack-store.ts";
import { ROOT } from "../helpers/cli.ts";

/** The fixture config as parsed YAML, before validation (each test patches a copy). */
interface Raw {
  routing: {
    pools: Record<string, unknown>[];
    reps: Record<string, unknown>[];
    managers?: Record<string, unknown>[];
  };
  slack: { channels: Record<string, unknown>; shadow?: { channel: string } };
  hubspot: Record<string, unknown>;
  [section: string]: unknown;
}

const RAW = parse(fs.readFileSync(path.join(ROOT, "test/fixtures/full.config.yaml"), "utf8")) as Raw;

/**
 * The fixture (pools enterprise, mid-market, smb; reps ana [enterprise], ben [enterprise,
 * mid-market], chloe [mid-market, smb], dev [smb]) with a manager, lee, who leads enterprise.
 */
function raw(patch: (r: Raw) => void = () => {}): Raw {
  const r = structuredClone(RAW);
  r.routing.managers = [{ id: "lee", name: "Lee Park", email: "lee@example.com", slackUserId: "U01LEEPARK" }];
  (r.routing.pools[0] as Record<string, unknown>).lead = "lee";
  patch(r);
  return r;
}

function build(patch?: (r: Raw) => void): PqlConfig {
  return configSchema.parse(raw(patch));
}

/** Every problem the schema reports for the patched config, as "path: message". */
function problems(patch: (r: Raw) => void): string[] {
  const result = configSchema.safeParse(raw(patch));
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

const DECIDED = new Date("2026-11-01T09:00:00Z");
const ACTED = new Date("2026-11-01T10:30:00Z");

function row(over: Partial<DecisionRow> = {}): DecisionRow {
  return {
    id: 42n,
    accountId: "acct_000042",
    name: "Acme Corp",
    domain: "acme.example",
    pool: "enterprise",
    reason: "became hot (was warm): score 84 >= 70; pool Enterprise",
    status: "open",
    rule: "round-robin",
    repId: "ana",
    assignmentReason: "ana: round robin in pool enterprise",
    skipped: [],
    decidedAt: DECIDED,
    assignedAt: DECIDED,
    escalations: 0,
    shadow: false,
    snoozedUntil: null,
    slackChannel: null,
    slackTs: null,
    stateVersion: 0,
    slaFrom: null,
    score: 84,
    tier: "hot",
    pqr: 12_000,
    icp: 70,
    reasons: ["visited pricing 3x", "4 personas active"],
    personas: ["people_ops_leader", "hr_admin", "no_such_persona"],
    configVersion: "v1",
    companyId: "9001",
    action: null,
    ...over,
  };
}

describe("channelPlans", () => {
  const config = build((r) => {
    r.routing.pools.splice(2, 0, { key: "partners", label: "Partners", capacity: 10 });
    r.routing.pools.push({ key: "startup", label: "Startup", capacity: 10 });
    r.slack.channels.pools = {
      enterprise: "#pql-enterprise",
      "mid-market": { channel: "#pql-mid", mode: "digest", digestCron: "0 9 * * 1-5" },
      // The object form with the default mode shares the plan of the same channel given as a name.
      partners: { channel: "#pql-enterprise" },
    };
  });

  it("gives each pool its own channel, else hot; pools on the same channel and mode share a plan", () => {
    // Pools in config order: enterprise, mid-market, partners, smb, startup.
    expect(channelPlans(config)).toEqual([
      { channel: "#pql-enterprise", mode: "instant", digestCron: null, pools: ["enterprise", "partners"] },
      { channel: "#pql-mid", mode: "digest", digestCron: "0 9 * * 1-5", pools: ["mid-market"] },
      { channel: "#pql-hot", mode: "instant", digestCron: null, pools: ["smb", "startup"] },
    ]);
  });

  it("posts every pool to the shadow channel in shadow mode, keeping modes", () => {
    const shadow = structuredClone(config);
    shadow.slack.shadow = { channel: "#pql-shadow" };
    expect(channelPlans(shadow)).toEqual([
      {
        channel: "#pql-shadow",
        mode: "instant",
        digestCron: null,
        pools: ["enterprise", "partners", "smb", "startup"],
      },
      { channel: "#pql-shadow", mode: "digest", digestCron: "0 9 * * 1-5", pools: ["mid-market"] },
    ]);
  });

  it("posts everything to hot when no pool has its own channel", () => {
    expect(channelPlans(build())).toEqual([
      { channel: "#pql-hot", mode: "instant", digestCron: null, pools: ["enterprise", "mid-market", "smb"] },
    ]);
  });
});

describe("who may act", () => {
  const config = build();

  it("finds reps and managers by Slack user id", () => {
    expect(memberBySlackId(config, "U01ANARUIZ")).toEqual({
      id: "ana",
      name: "Ana Ruiz",
      slackUserId: "U01ANARUIZ",
      role: "rep",
      pools: ["enterprise"],
    });
    expect(memberBySlackId(config, "U01LEEPARK")).toEqual({
      id: "lee",
      name: "Lee Park",
      slackUserId: "U01LEEPARK",
      role: "manager",
      pools: [],
    });
    expect(memberBySlackId(config, "U0NOBODY")).toBeNull();
    expect([...members(config).keys()]).toEqual(["ana", "ben", "chloe", "dev", "lee"]);
  });

  it("lets a pool's reps and every manager act, nobody else", () => {
    const ana = memberBySlackId(config, "U01ANARUIZ");
    const chloe = memberBySlackId(config, "U01CHLOEMA");
    const lee = memberBySlackId(config, "U01LEEPARK");
    expect(mayAct(ana, "enterprise")).toBe(true);
    expect(mayAct(ana, "smb")).toBe(false);
    // ...unless the account is assigned to her (she owns the company in HubSpot).
    expect(mayAct(ana, "smb", "ana")).toBe(true);
    expect(mayAct(ana, "smb", "chloe")).toBe(false);
    expect(mayAct(chloe, "mid-market")).toBe(true);
    expect(mayAct(chloe, "smb")).toBe(true);
    expect(mayAct(chloe, "enterprise")).toBe(false);
    expect(mayAct(lee, "enterprise")).toBe(true);
    expect(mayAct(lee, "smb")).toBe(true);
    expect(mayAct(null, "smb")).toBe(false);
    expect(mayAct(memberBySlackId(config, "U0NOBODY"), "smb")).toBe(false);
  });
});

describe("alertView", () => {
  const config = build((r) => {
    r.hubspot.portalId = "12345678";
  });

  it("maps a stored decision to what the alert shows", () => {
    expect(alertView(row(), config, null)).toEqual({
      decisionId: "42",
      accountId: "acct_000042",
      name: "Acme Corp",
      domain: "acme.example",
      tier: "hot",
      score: 84,
      probability: null,
      pqr: 12_000,
      currency: "USD",
      icp: 70,
      reasons: ["visited pricing 3x", "4 personas active"],
      // Labels from the config's personas; a key no longer configured is shown as is.
      personas: ["people-ops leader", "HR admin", "no_such_persona"],
      pool: { key: "enterprise", label: "Enterprise" },
      assignee: { name: "Ana Ruiz", slackUserId: "U01ANARUIZ" },
      unassignedReason: null,
      hubspotUrl: "https://app.hubspot.com/contacts/12345678/company/9001",
      routedAt: DECIDED,
      mention: true,
      shadow: false,
      escalations: null,
      state: { kind: "open" },
    });
  });

  it("shows why nobody was assigned", () => {
    const reason = "nobody eligible in pool smb (chloe: at capacity 25/25; dev: at capacity 30/30)";
    const view = alertView(
      row({ pool: "smb", repId: null, rule: "nobody-eligible", assignmentReason: reason }),
      config,
      null,
    );
    expect(view.assignee).toBeNull();
    expect(view.unassignedReason).toBe(reason);
    expect(view.pool).toEqual({ key: "smb", label: "SMB" });
    expect(alertView(row({ repId: null, assignmentReason: null }), config, null).unassignedReason).toBe(
      "not assigned yet",
    );
  });

  it("names a rep or pool no longer configured by id", () => {
    const view = alertView(row({ pool: "retired", repId: "zoe" }), config, null);
    expect(view.assignee).toEqual({ name: "zoe", slackUserId: null });
    expect(view.pool).toEqual({ key: "retired", label: "retired" });
  });

  it("links to HubSpot only with a portal id and a company id", () => {
    expect(alertView(row({ companyId: null }), config, null).hubspotUrl).toBeNull();
    // The fixture leaves portalId out.
    expect(alertView(row(), build(), null).hubspotUrl).toBeNull();
    expect(hubspotCompanyUrl(config, "77")).toBe("https://app.hubspot.com/contacts/12345678/company/77");
  });

  it("mentions nobody in shadow mode, or for a decision made in shadow mode", () => {
    const shadowConfig = build((r) => {
      r.slack.shadow = { channel: "#pql-shadow" };
    });
    expect(alertView(row(), shadowConfig, null)).toMatchObject({ mention: false, shadow: true });
    expect(alertView(row({ shadow: true }), config, null)).toMatchObject({ mention: false, shadow: true });
  });

  it("shows escalations with the pool's lead", () => {
    expect(alertView(row({ escalations: 2 }), config, null).escalations).toEqual({
      count: 2,
      lead: { name: "Lee Park", slackUserId: "U01LEEPARK" },
    });
    // smb has no lead.
    expect(alertView(row({ pool: "smb", repId: "dev", escalations: 1 }), config, null).escalations).toEqual({
      count: 1,
      lead: null,
    });
  });

  it("shows the calibrated probability beside a score made by the calibrated config, and nothing otherwise", () => {
    const calibration: StoredCalibration = {
      configVersion: "v1",
      fittedAt: new Date("2026-11-29T06:00:00Z"),
      horizonDays: 90,
      model: { method: "isotonic", xs: [0, 100], ps: [0.02, 0.6] },
      period: { from: "2026-01-01", to: "2026-08-31", everyDays: 7 },
      observations: 1000,
      conversions: 80,
      ece: 0.01,
      brier: 0.07,
    };
    // Score 84 between the knots: 0.02 + (0.6 - 0.02) x 84 / 100 = 0.5072, shown as ~51%.
    const text = "~51% likely to convert in 90 days (calibrated 2026-11-29)";
    expect(alertView(row(), config, calibration).probability).toBe(text);
    expect(digestItem(row(), config, calibration).probability).toBe(text);
    // A score made by another config is not what this calibration maps.
    expect(alertView(row({ configVersion: "v0" }), config, calibration).probability).toBeNull();
    expect(alertView(row(), config, null).probability).toBeNull();
  });
});

describe("alertState", () => {
  const config = build();
  const all = members(config);
  const action = (over: Partial<NonNullable<DecisionRow["action"]>>): DecisionRow["action"] => ({
    kind: "claim",
    personId: "ana",
    slackUserId: "U01ANARUIZ",
    reason: null,
    until: null,
    at: ACTED,
    ...over,
  });

  it("shows who claimed it", () => {
    expect(alertState(row({ status: "claimed", action: action({}) }), all)).toEqual({
      kind: "claimed",
      by: { name: "Ana Ruiz", slackUserId: "U01ANARUIZ" },
      at: ACTED,
    });
    // A person no longer in the config: their Slack id stands in for the name.
    expect(
      alertState(row({ status: "claimed", action: action({ personId: null, slackUserId: "U0GONE" }) }), all),
    ).toEqual({ kind: "claimed", by: { name: "U0GONE", slackUserId: "U0GONE" }, at: ACTED });
  });

  it("shows a snooze with its end", () => {
    const until = new Date("2026-11-04T10:30:00Z");
    expect(
      alertState(
        row({
          status: "snoozed",
          action: action({ kind: "snooze", personId: "lee", slackUserId: "U01LEEPARK", until }),
        }),
        all,
      ),
    ).toEqual({
      kind: "snoozed",
      by: { name: "Lee Park", slackUserId: "U01LEEPARK" },
      until,
      at: ACTED,
    });
  });

  it("shows not a fit with its reason, other when none was given", () => {
    expect(
      alertState(
        row({ status: "not_a_fit", action: action({ kind: "not_a_fit", reason: "competitor" }) }),
        all,
      ),
    ).toEqual({
      kind: "not-a-fit",
      by: { name: "Ana Ruiz", slackUserId: "U01ANARUIZ" },
      reason: "competitor",
      at: ACTED,
    });
    expect(
      alertState(row({ status: "not_a_fit", action: action({ kind: "not_a_fit", reason: null }) }), all),
    ).toMatchObject({ kind: "not-a-fit", reason: "other" });
  });

  it("shows superseded whatever the last action, and open for an open row", () => {
    expect(alertState(row({ status: "superseded", action: action({}) }), all)).toEqual({
      kind: "superseded",
    });
    expect(alertState(row({ status: "open", action: null }), all)).toEqual({ kind: "open" });
    // An open row whose last action is an old claim (e.g. re-opened): open, not claimed.
    expect(alertState(row({ status: "open", action: action({}) }), all)).toEqual({ kind: "open" });
  });
});

describe("digestItem", () => {
  it("lists the account with its assignee and top reason", () => {
    expect(digestItem(row({ repId: "chloe" }), build(), null)).toEqual({
      decisionId: "42",
      name: "Acme Corp",
      domain: "acme.example",
      score: 84,
      probability: null,
      pqr: 12_000,
      currency: "USD",
      routedAt: DECIDED,
      assignee: { name: "Chloe Martin", slackUserId: "U01CHLOEMA" },
      topReason: "visited pricing 3x",
    });
    expect(digestItem(row({ repId: null, reasons: [] }), build(), null)).toMatchObject({
      assignee: null,
      topReason: null,
    });
  });
});

describe("config cross-checks for routing in Slack", () => {
  it("accepts the base config", () => {
    expect(problems(() => {})).toEqual([]);
  });

  it("refuses a manager who is also a rep, or two managers with one id", () => {
    expect(
      problems((r) => {
        r.routing.managers = [
          { id: "ana", name: "Ana Again", email: "ana2@example.com", slackUserId: "U01ANAMGR" },
        ];
        r.routing.pools[0] = { ...r.routing.pools[0], lead: "ana" };
      }),
    ).toEqual(["routing.managers.0.id: duplicate id (already a rep or manager)"]);
    expect(
      problems((r) => {
        r.routing.managers?.push({
          id: "lee",
          name: "Lee 2",
          email: "lee2@example.com",
          slackUserId: "U01LEE2",
        });
      }),
    ).toEqual(["routing.managers.1.id: duplicate id (already a rep or manager)"]);
  });

  it("refuses one Slack user id for two people", () => {
    expect(
      problems((r) => {
        (r.routing.managers?.[0] as Record<string, unknown>).slackUserId = "U01BENOKAF";
      }),
    ).toEqual(["routing.managers.0.slackUserId: duplicate slackUserId"]);
    expect(
      problems((r) => {
        (r.routing.reps[3] as Record<string, unknown>).slackUserId = "U01ANARUIZ";
      }),
    ).toEqual(["routing.reps.3.slackUserId: duplicate slackUserId"]);
  });

  it("refuses a pool lead who is neither a rep nor a manager", () => {
    expect(
      problems((r) => {
        (r.routing.pools[2] as Record<string, unknown>).lead = "zoe";
      }),
    ).toEqual(["routing.pools.2.lead: unknown rep or manager id"]);
    // A rep may lead.
    expect(
      problems((r) => {
        (r.routing.pools[2] as Record<string, unknown>).lead = "dev";
      }),
    ).toEqual([]);
  });

  it("refuses a channel for an unknown pool", () => {
    expect(
      problems((r) => {
        r.slack.channels.pools = { smb: "#pql-smb", partners: "#pql-partners" };
      }),
    ).toEqual(["slack.channels.pools.partners: unknown pool, expected one of enterprise, mid-market, smb"]);
  });

  it("refuses a digest without its cron time, for a pool or for hot", () => {
    expect(
      problems((r) => {
        r.slack.channels.pools = { smb: { channel: "#pql-smb", mode: "digest" } };
      }),
    ).toEqual(["slack.channels.pools.smb.digestCron: expected a cron time with mode: digest"]);
    expect(
      problems((r) => {
        r.slack.channels.hot = { channel: "#pql-hot", mode: "digest" };
      }),
    ).toEqual(["slack.channels.hot.digestCron: expected a cron time with mode: digest"]);
    expect(
      problems((r) => {
        r.slack.channels.pools = { smb: { channel: "#pql-smb", mode: "digest", digestCron: "0 9 * * 1-5" } };
      }),
    ).toEqual([]);
  });
});
