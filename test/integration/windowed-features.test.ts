import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import type { PqlConfig } from "../../src/config/schema.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import type { AccountFeatures, SignalFeature } from "../../src/signals/account-features.ts";
import { personaMatcher } from "../../src/signals/persona.ts";
import { parseSegmentMessage } from "../../src/signals/segment-message.ts";
import { featuresReadDays, readAccountFeatures } from "../../src/store/account-features-query.ts";
import { openDatabase } from "../../src/store/database.ts";
import { forgetAccount, forgetUser } from "../../src/store/forget.ts";
import { attributeMessages, storeMessages } from "../../src/store/message-store.ts";
import { type PersonaKeys, personaKeys } from "../../src/store/persona-store.ts";
import {
  createTestStore,
  ENGINES,
  postgresAvailable,
  SKIP_PG_REASON,
  type TestStore,
  tempDir,
} from "../helpers/databases.ts";
import { jobContext } from "../helpers/runtime.ts";
import { slackConfig } from "../helpers/slack-world.ts";

const DAY = 86_400_000;
const END = new Date("2026-11-01T00:00:00.000Z");
const at = (daysBefore: number, ms = 0) => new Date(END.getTime() - daysBefore * DAY + ms);

/** Windows far shorter than the history (150 days): signals of 7 to 30 days, activity 14 (trend 28). */
const config = slackConfig((c) => {
  c.scoring.activeWindowDays = 14;
  c.signals.forEach((s, i) => {
    s.windowDays = Math.min(s.windowDays, i % 3 === 0 ? 7 : 30);
  });
});

interface Row {
  account_id: string;
  user_id: string | null;
  type: string;
  event: string | null;
  path: string | null;
  timestamp: Date;
}

/** Whether a message counts as `signal`, by the config's rules, written out plainly. */
function matches(signal: PqlConfig["signals"][number], m: Row): boolean {
  const { events = [], screens = [], pages = [] } = signal.match;
  if (m.type === "track") return m.event !== null && events.includes(m.event);
  if (m.type === "screen") return m.event !== null && screens.includes(m.event);
  if (m.type !== "page") return false;
  return pages.some((p) =>
    p.endsWith("*")
      ? m.path?.startsWith(p.slice(0, -1)) === true
      : p.startsWith("/")
        ? m.path === p
        : m.event === p,
  );
}

type Scored = Omit<AccountFeatures, "name" | "domain" | "firmographics">;

/**
 * The features as of `now`, computed in plain code from every stored message (no windowing, no
 * message_times): what the windowed query must equal.
 */
async function bruteForce(
  store: TestStore,
  now: Date,
  personas: PersonaKeys,
  previousCounts = false,
): Promise<Scored[]> {
  const { rows: all } = await store.db.sql.query<Row>(
    "SELECT account_id, user_id, type, event, path, timestamp FROM messages WHERE account_id IS NOT NULL",
  );
  const { rows: users } = await store.db.sql.query<{
    id: string;
    title: string | null;
    persona: string | null;
  }>("SELECT id, title, persona FROM users");
  const { rows: accounts } = await store.db.sql.query<{ id: string }>("SELECT id FROM accounts ORDER BY id");
  const userById = new Map(users.map((u) => [u.id, u]));
  const personaOf = (title: string | null, persona: string | null) =>
    personas.find((k) => k.title === (title ?? "") && k.persona === (persona ?? ""))?.key;
  const t = now.getTime();
  const active = config.scoring.activeWindowDays * DAY;
  return accounts.map(({ id }) => {
    const mine = all
      .filter((m) => m.account_id === id && new Date(m.timestamp).getTime() <= t)
      .map((m) => ({ ...m, ms: new Date(m.timestamp).getTime() }));
    const times = mine.map((m) => m.ms);
    const product = mine.filter((m) => ["track", "page", "screen"].includes(m.type));
    const recent = product.filter((m) => m.ms > t - active);
    const activeUsers = [...new Set(recent.map((m) => m.user_id).filter((u): u is string => u !== null))];
    const known = activeUsers.flatMap((u) => {
      const user = userById.get(u);
      return user ? [personaOf(user.title, user.persona) ?? null] : [];
    });
    const signals: Record<string, SignalFeature> = {};
    for (const s of config.signals) {
      const hits = mine.filter((m) => matches(s, m)).map((m) => m.ms);
      if (hits.length === 0) continue;
      const w = s.windowDays * DAY;
      signals[s.key] = {
        count: hits.filter((ms) => ms > t - w).length,
        ...(previousCounts
          ? { previousCount: hits.filter((ms) => ms <= t - w && ms > t - 2 * w).length }
          : {}),
        firstAt: new Date(Math.min(...hits)),
      };
    }
    return {
      accountId: id,
      firstSeenAt: times.length > 0 ? new Date(Math.min(...times)) : null,
      lastSeenAt: times.length > 0 ? new Date(Math.max(...times)) : null,
      activeUsers: activeUsers.length,
      personas: [...new Set(known.filter((k): k is string => k !== null))].sort(),
      usersWithoutPersona: known.filter((k) => k === null).length,
      activeDays: new Set(recent.map((m) => new Date(m.ms).toISOString().slice(0, 10))).size,
      events: recent.length,
      previousEvents: product.filter((m) => m.ms <= t - active && m.ms > t - 2 * active).length,
      signals,
    };
  });
}

function scored(features: AccountFeatures[]): Scored[] {
  return features.map(({ name: _n, domain: _d, firmographics: _f, ...rest }) => rest);
}

/** message_times as stored, and as it would be rebuilt from the messages (nothing pruned here). */
async function timesTable(store: TestStore) {
  const q = async (sql: string) =>
    (await store.db.sql.query<Record<string, unknown>>(sql)).rows.map((r) => JSON.stringify(r));
  return {
    stored: await q(
      "SELECT account_id, type, event, path, first_at, last_at FROM message_times ORDER BY 1, 2, 3, 4",
    ),
    fromMessages: await q(`SELECT account_id, type, COALESCE(event, '') AS event,
        CASE WHEN type = 'page' THEN COALESCE(path, '') ELSE '' END AS path,
        min(timestamp) AS first_at, max(timestamp) AS last_at
      FROM messages WHERE account_id IS NOT NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`),
  };
}

const store = async (s: TestStore, messages: Record<string, unknown>[]) => {
  const parsed = messages.map((m, i) =>
    parseSegmentMessage({ messageId: `wf-${m.type}-${i}-${String(m.timestamp)}`, ...m }, { receivedAt: END }),
  );
  return storeMessages(
    s.db,
    parsed.map((p) => {
      if (!p.ok) throw new Error(p.reason);
      return p.message;
    }),
  );
};

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `windowed features equal a brute force over all messages on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let s: TestStore;
      let ids: string[];
      let personas: PersonaKeys;
      let accountX: string;
      let accountY: string;
      // Past dates too: inside the history, at an edge, before most accounts existed, before all.
      const nows = () => [END, at(1, -1), at(6, 1), at(29), at(55), at(100), at(160)];
      const compare = async (label: string) => {
        personas = await personaKeys(s.db, personaMatcher(config.personas));
        ids = (await s.db.sql.query<{ id: string }>("SELECT id FROM accounts ORDER BY id")).rows.map(
          (r) => r.id,
        );
        for (const now of nows()) {
          const got = scored(await readAccountFeatures(s.db, config, now, ids, personas));
          expect(got, `${label}, as of ${now.toISOString()}`).toEqual(await bruteForce(s, now, personas));
        }
        const times = await timesTable(s);
        expect(times.stored, `${label}: message_times`).toEqual(times.fromMessages);
      };

      beforeAll(async () => {
        s = await createTestStore(engine.name);
        const world = await generateWorld({
          accounts: 25,
          days: 150,
          seed: 13,
          end: END,
          out: path.join(tempDir(), "w.ndjson"),
        });
        await importFile(jobContext(s.db, config), world.file);
        // X: the account that started last, so the late messages below become its first ones.
        const { rows } = await s.db.sql.query<{ id: string; first: Date }>(
          "SELECT account_id AS id, min(timestamp) AS first FROM messages WHERE account_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1",
        );
        accountX = rows[0]?.id as string;
        accountY = rows[1]?.id as string;
        expect(new Date(rows[0]?.first as Date).getTime()).toBeGreaterThan(at(140).getTime());
      });
      afterAll(async () => {
        await s?.dispose();
      });

      it("reads raw messages only inside the windows (30 days here, of 150)", () => {
        expect(featuresReadDays(config)).toBe(30);
        expect(featuresReadDays(config, { previousCounts: true })).toBe(60);
      });

      it("after an import", async () => {
        await compare("imported");
        // The previous-period counts, when asked for, too.
        for (const now of [END, at(40)]) {
          const got = scored(
            await readAccountFeatures(s.db, config, now, ids, personas, { previousCounts: true }),
          );
          expect(got).toEqual(await bruteForce(s, now, personas, true));
        }
      });

      it("after late attribution: messages sent before their user's group call, and anonymous ones before an alias", async () => {
        // A user with no account yet sends the account's earliest signal and recent pages.
        await store(s, [
          {
            type: "identify",
            userId: "late-u",
            traits: { title: "Head of People" },
            timestamp: at(140).toISOString(),
          },
          {
            type: "track",
            userId: "late-u",
            event: "Offer Letter Sent",
            timestamp: at(140, 5).toISOString(),
          },
          {
            type: "page",
            userId: "late-u",
            properties: { path: "/pricing/plans" },
            timestamp: at(3).toISOString(),
          },
          {
            type: "page",
            anonymousId: "late-anon",
            properties: { path: "/pricing" },
            timestamp: at(2).toISOString(),
          },
          { type: "track", anonymousId: "late-anon", event: "Report Run", timestamp: at(145).toISOString() },
        ]);
        expect(
          (await s.db.sql.query("SELECT 1 FROM messages WHERE user_id = 'late-u' AND account_id IS NULL"))
            .rows,
        ).toHaveLength(3);
        await compare("before the group call");
        // The group call arrives later (its timestamp after those messages): they join the account.
        await store(s, [
          { type: "group", userId: "late-u", groupId: accountX, timestamp: at(1).toISOString() },
        ]);
        // The alias of the anonymous visitor arrives: their messages join the account too.
        await store(s, [
          { type: "alias", previousId: "late-anon", userId: "late-u", timestamp: at(1).toISOString() },
        ]);
        expect(
          (
            await s.db.sql.query("SELECT 1 FROM messages WHERE account_id = $1 AND timestamp = $2", [
              accountX,
              at(145),
            ])
          ).rows,
        ).toHaveLength(1);
        await compare("after the group call and the alias");
      });

      it("after the scoring pass's attribution sweep and an event older than everything, arriving last", async () => {
        // A message stored without its account (the race the sweep exists for), written directly.
        await s.db.sql.query(
          `INSERT INTO messages (message_id, type, user_id, event, timestamp, received_at, payload)
          VALUES ('wf-race', 'track', 'late-u', 'Teammate Invited', $1, $2, '{}')`,
          [at(148).toISOString(), END.toISOString()],
        );
        expect(await attributeMessages(s.db, null)).toBeGreaterThanOrEqual(1);
        await store(s, [
          {
            type: "track",
            userId: "late-u",
            event: "Candidate Added",
            context: { groupId: accountY },
            timestamp: at(149).toISOString(),
          },
        ]);
        await compare("after the sweep and the old event");
      });

      it("after forgetting a person (their account's first times rebuilt from what remains) and a company", async () => {
        // Their messages were the account's first (the swept one at 148 days, the offer letter at 140).
        const [before] = await readAccountFeatures(s.db, config, END, [accountX], personas);
        expect(before?.firstSeenAt).toEqual(at(148));
        expect(before?.signals.offer_letter_sent?.firstAt).toEqual(at(140, 5));
        await forgetUser(s.db, "late-u", END);
        const [after] = await readAccountFeatures(s.db, config, END, [accountX], personas);
        expect(after?.firstSeenAt?.getTime()).toBeGreaterThan(at(140).getTime());
        expect(after?.signals.offer_letter_sent?.firstAt?.getTime() ?? Infinity).toBeGreaterThan(
          at(140).getTime(),
        );
        await compare("after forget --user");
        const { erased } = await forgetAccount(s.db, accountY);
        expect(erased.message_times).toBeGreaterThan(0);
        expect(
          (await s.db.sql.query("SELECT 1 FROM message_times WHERE account_id = $1", [accountY])).rows,
        ).toHaveLength(0);
        await compare("after forget --account");
      });
    },
  );
}

describe.skipIf(!postgresAvailable)(
  `message_times under concurrent writers on PostgreSQL${postgresAvailable ? "" : ` (${SKIP_PG_REASON})`}`,
  () => {
    it("stores everything and stays exact when two processes' batches widen and attribute the same accounts at once", async () => {
      const s = await createTestStore("postgres");
      const other = await openDatabase({ databaseUrl: s.env.DATABASE_URL, dataDir: "" });
      try {
        const events = ["Report Run", "Offer Letter Sent", "Teammate Invited", "Candidate Added"];
        const parse = (m: Record<string, unknown>, id: string) => {
          const parsed = parseSegmentMessage({ ...m, messageId: id }, { receivedAt: END });
          if (!parsed.ok) throw new Error(parsed.reason);
          return parsed.message;
        };
        const accounts = Array.from({ length: 12 }, (_, a) => `acct_c${a}`);
        // Each writer's users, grouped first: later messages get their account from their user,
        // so concurrent batches share an account's message_times rows without sharing its row.
        await storeMessages(
          s.db,
          accounts.flatMap((account) =>
            [0, 1].map((w) =>
              parse(
                {
                  type: "group",
                  userId: `${account}-u${w}`,
                  groupId: account,
                  timestamp: at(60).toISOString(),
                },
                `g-${account}-${w}`,
              ),
            ),
          ),
        );
        // Each batch: per account, events and a page of the writer's user (the COPY widens the
        // account's rows), and an anonymous visitor's, aliased to that user by the next batch (its
        // attribution UPDATE widens them: a page path the other writer's COPY may hold). Each batch
        // locks shared rows twice, so the two writers deadlock now and then (checked: without
        // the retry on 40P01 this fails most runs); a cancelled batch is retried whole.
        const batch = (writer: number, n: number) =>
          accounts
            .flatMap((account, a) => {
              const user = `${account}-u${writer}`;
              const anon = (k: number) => `anon-${writer}-${k}-${a}`;
              const time = (k: number) => at(((writer * 7 + n * 3 + a + k) % 50) + 1).toISOString();
              return [
                ...events.map((event, k) => ({ type: "track", userId: user, event, timestamp: time(k) })),
                { type: "page", userId: user, properties: { path: `/p${n % 3}` }, timestamp: time(5) },
                ...events.map((event, k) => ({
                  type: "track",
                  anonymousId: anon(n),
                  event,
                  timestamp: time(k + 9),
                })),
                {
                  type: "page",
                  anonymousId: anon(n),
                  properties: { path: `/p${(n + 2) % 3}` },
                  timestamp: time(15),
                },
                { type: "alias", previousId: anon(n - 1), userId: user, timestamp: time(20) },
              ];
            })
            .map((m, i) => parse(m, `c${writer}-${n}-${i}`));
        const results = await Promise.all(
          [s.db, other].flatMap((db, writer) =>
            Array.from({ length: 11 }, (_, n) => storeMessages(db, batch(writer, n))),
          ),
        );
        expect(results.reduce((sum, r) => sum + r.accepted, 0)).toBe(2 * 11 * 12 * (2 * events.length + 3));
        // Only the last batch's visitors were never aliased.
        const { rows: anonymous } = await s.db.sql.query<{ anonymous_id: string }>(
          "SELECT DISTINCT anonymous_id FROM messages WHERE account_id IS NULL AND type <> 'alias'",
        );
        expect(anonymous.map((r) => r.anonymous_id).every((id) => id.split("-")[2] === "10")).toBe(true);
        const times = await timesTable(s);
        expect(times.stored).toEqual(times.fromMessages);
      } finally {
        await other.close();
        await s.dispose();
      }
    });
  },
);
