import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load-config.ts";
import { personaMatcher } from "../../src/signals/persona.ts";
import { parseSegmentMessage } from "../../src/signals/segment-message.ts";
import { readAccountFeatures } from "../../src/store/account-features-query.ts";
import { storeMessages } from "../../src/store/message-store.ts";
import { type PersonaKeys, personaKeys } from "../../src/store/persona-store.ts";
import { changedAccountIds } from "../../src/store/score-store.ts";
import { ROOT } from "../helpers/cli.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore } from "../helpers/databases.ts";

const { config, version } = loadConfig(path.join(ROOT, "test/fixtures/scoring.config.yaml"));
const matcher = personaMatcher(config.personas);
const NOW = new Date("2026-11-01T12:00:00.000Z");
const DAY = 86_400_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

/** Hand-made messages around the window edges of test/fixtures/scoring.config.yaml (a1: 30 days, p1: 14 days). */
const MESSAGES = [
  {
    type: "group",
    userId: "u1",
    groupId: "acct_w",
    traits: { name: "Windows Inc", employees: 300, tech_stack: ["BambooHR"] },
    timestamp: ago(40 * DAY),
  },
  { type: "identify", userId: "u1", traits: { title: "HR Manager" }, timestamp: ago(40 * DAY) },
  { type: "identify", userId: "u2", traits: { title: "Senior Recruiter" }, timestamp: ago(40 * DAY) },
  { type: "identify", userId: "u3", traits: { title: "Office Wizard" }, timestamp: ago(40 * DAY) },
  { type: "group", userId: "u2", groupId: "acct_w", timestamp: ago(40 * DAY) },
  { type: "group", userId: "u3", groupId: "acct_w", timestamp: ago(40 * DAY) },
  // a1 (Offer Letter Sent, 30-day window): exactly at the edge is out, 1 ms inside is in, exactly now is in, after now is ignored.
  {
    type: "track",
    userId: "u1",
    event: "Offer Letter Sent",
    timestamp: ago(30 * DAY),
    context: { groupId: "acct_w" },
  },
  {
    type: "track",
    userId: "u1",
    event: "Offer Letter Sent",
    timestamp: ago(30 * DAY - 1),
    context: { groupId: "acct_w" },
  },
  {
    type: "track",
    userId: "u2",
    event: "Offer Letter Sent",
    timestamp: NOW.toISOString(),
    context: { groupId: "acct_w" },
  },
  {
    type: "track",
    userId: "u2",
    event: "Offer Letter Sent",
    timestamp: new Date(NOW.getTime() + 1).toISOString(),
    context: { groupId: "acct_w" },
  },
  // the previous 30-day window: (now - 60d, now - 30d]
  {
    type: "track",
    userId: "u1",
    event: "Offer Letter Sent",
    timestamp: ago(45 * DAY),
    context: { groupId: "acct_w" },
  },
  // p1 (pages /pricing*, 14-day window): a prefix match, an exact other page, one outside the window.
  {
    type: "page",
    userId: "u3",
    name: "Pricing",
    properties: { path: "/pricing/enterprise" },
    timestamp: ago(2 * DAY),
    context: { groupId: "acct_w" },
  },
  {
    type: "page",
    userId: "u3",
    properties: { path: "/pricing" },
    timestamp: ago(3 * DAY),
    context: { groupId: "acct_w" },
  },
  {
    type: "page",
    userId: "u3",
    properties: { path: "/pricingx" },
    timestamp: ago(3 * DAY),
    context: { groupId: "acct_w" },
  },
  {
    type: "page",
    userId: "u3",
    properties: { path: "/dashboard" },
    timestamp: ago(3 * DAY),
    context: { groupId: "acct_w" },
  },
  {
    type: "page",
    userId: "u1",
    properties: { path: "/pricing" },
    timestamp: ago(15 * DAY),
    context: { groupId: "acct_w" },
  },
  // i1 (HRIS Connected, 365 days) long ago: still counts; the milestone's first time is kept.
  {
    type: "track",
    userId: "u1",
    event: "HRIS Connected",
    timestamp: ago(39 * DAY),
    context: { groupId: "acct_w" },
  },
].map((m, i) => ({ ...m, messageId: `w-${i}` }));

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `account features on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      let personas: PersonaKeys;
      beforeAll(async () => {
        store = await createTestStore(engine.name);
        const parsed = MESSAGES.map((m) => parseSegmentMessage(m, { receivedAt: NOW }));
        await storeMessages(
          store.db,
          parsed.map((p) => {
            if (!p.ok) throw new Error(p.reason);
            return p.message;
          }),
        );
        personas = await personaKeys(store.db, matcher);
      });
      afterAll(async () => {
        await store?.dispose();
      });

      it("counts events in (now - window, now]: the edge is out, an event at now is in, later events are ignored", async () => {
        const [features] = await readAccountFeatures(store.db, config, NOW, ["acct_w"], personas);
        // First times from before the window (a1 at 45 days) come from message_times.
        expect(features?.signals.a1).toEqual({ count: 2, firstAt: new Date(ago(45 * DAY)) });
        // 14-day window, prefix /pricing: /pricing/enterprise, /pricing and /pricingx (not the one at 15 days)
        expect(features?.signals.p1).toEqual({ count: 3, firstAt: new Date(ago(15 * DAY)) });
        expect(features?.signals.i1).toEqual({ count: 1, firstAt: new Date(ago(39 * DAY)) });
      });

      it("counts the signals' previous windows only when asked (explain): they are not scored", async () => {
        const [features] = await readAccountFeatures(store.db, config, NOW, ["acct_w"], personas, {
          previousCounts: true,
        });
        expect(features?.signals.a1).toEqual({
          count: 2,
          previousCount: 2,
          firstAt: new Date(ago(45 * DAY)),
        });
        // the /pricing at 15 days is in p1's previous window
        expect(features?.signals.p1).toEqual({
          count: 3,
          previousCount: 1,
          firstAt: new Date(ago(15 * DAY)),
        });
        expect(features?.signals.i1).toEqual({
          count: 1,
          previousCount: 0,
          firstAt: new Date(ago(39 * DAY)),
        });
      });

      it("aggregates users, personas, active days, events, trend and firmographics per account", async () => {
        const [features] = await readAccountFeatures(store.db, config, NOW, ["acct_w"], personas);
        expect(features).toMatchObject({
          accountId: "acct_w",
          name: "Windows Inc",
          firmographics: { employees: 300, techStack: ["BambooHR"] },
          firstSeenAt: new Date(ago(45 * DAY)),
          lastSeenAt: NOW,
          activeUsers: 3, // u1 (edge + 1 ms), u2 (at now), u3 (pages)
          personas: ["hr_admin", "recruiter"],
          usersWithoutPersona: 1, // "Office Wizard"
          events: 7, // a1 x2, p1 pages x4 in 30 days (incl. /dashboard), plus the /pricing at 15 days
          previousEvents: 3, // a1 at 30 d (edge), a1 at 45 d, HRIS at 39 d
        });
      });

      it("derives the persona table once per distinct (title, persona) pair, leaving unmatched pairs out", () => {
        expect([...personas].sort((a, b) => a.title.localeCompare(b.title))).toEqual([
          { title: "HR Manager", persona: "", key: "hr_admin" },
          { title: "Senior Recruiter", persona: "", key: "recruiter" },
        ]);
      });

      it("follows a changed title: the account is named for re-scoring and its personas change", async () => {
        // A millisecond back: the write below may land in the same millisecond (timestamps are ms).
        const since = new Date(Date.now() - 1);
        const last = { startedAt: since, asOf: NOW, configVersion: version, tiers: null };
        expect(await changedAccountIds(store.db, last, NOW, [30])).toEqual([]);
        const parsed = parseSegmentMessage(
          {
            type: "identify",
            messageId: "w-title",
            userId: "u3",
            traits: { title: "CFO" },
            timestamp: ago(DAY),
          },
          { receivedAt: NOW },
        );
        if (!parsed.ok) throw new Error(parsed.reason);
        await storeMessages(store.db, [parsed.message]);
        expect(await changedAccountIds(store.db, last, NOW, [30])).toEqual(["acct_w"]);
        const [features] = await readAccountFeatures(
          store.db,
          config,
          NOW,
          ["acct_w"],
          await personaKeys(store.db, matcher),
        );
        expect(features).toMatchObject({
          personas: ["finance", "hr_admin", "recruiter"],
          usersWithoutPersona: 0,
        });
      });

      it("sees nothing of an account before its first event, and ignores everything after `now`", async () => {
        const [early] = await readAccountFeatures(
          store.db,
          config,
          new Date(ago(50 * DAY)),
          ["acct_w"],
          personas,
        );
        expect(early).toMatchObject({ activeUsers: 0, events: 0, firstSeenAt: null, signals: {} });
      });
    },
  );
}
