import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { systemClock } from "../../src/clock.ts";
import { parseSegmentMessage, type SegmentMessage } from "../../src/signals/segment-message.ts";
import { storeMessages } from "../../src/store/message-store.ts";
import { runCli } from "../helpers/cli.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore, tempDir } from "../helpers/databases.ts";

function message(value: Record<string, unknown>): SegmentMessage {
  const parsed = parseSegmentMessage(value, { receivedAt: new Date("2026-11-01T00:00:00Z") });
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.message;
}

function writeLines(lines: string[]): string {
  const file = path.join(tempDir(), "messages.ndjson");
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `ingestion keeps valid messages beside bad ones, on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      beforeAll(async () => {
        store = await createTestStore(engine.name);
      });
      afterAll(async () => {
        await store?.dispose();
      });
      const accountOf = async (messageId: string) => {
        const { rows } = await store.db.sql.query<{ account_id: string | null }>(
          "SELECT account_id FROM messages WHERE message_id = $1",
          [messageId],
        );
        return rows[0]?.account_id;
      };

      it("stores the rest of a batch when the database refuses one message, naming its index", async () => {
        // A message the checks would refuse, built by hand: the store must still isolate it.
        const poisoned: SegmentMessage = {
          ...message({ type: "track", userId: "u-p", event: "Report Run", messageId: "poison-1" }),
          payloadJson: '{"type":"track","note":"\\u0000"}',
        };
        const batch = [
          message({
            type: "track",
            userId: "u-p",
            event: "A",
            messageId: "poison-0",
            context: { groupId: "acct_p" },
          }),
          poisoned,
          message({
            type: "track",
            userId: "u-p",
            event: "B",
            messageId: "poison-2",
            context: { groupId: "acct_p" },
          }),
        ];
        const result = await storeMessages(store.db, batch);
        expect(result).toEqual({
          accepted: 2,
          duplicates: 0,
          rejected: [
            {
              index: 1,
              reason: expect.stringMatching(/^the database refused the message \(SQLSTATE 22P05\): /),
            },
          ],
        });
        const again = await storeMessages(store.db, batch);
        expect(again).toMatchObject({ accepted: 0, duplicates: 2, rejected: [{ index: 1 }] });
      });

      it("attributes an anonymous message when its alias and its user's first group call come in later, separate batches", async () => {
        // Batches of two: [page, filler], [alias, filler], [group].
        const line = (m: Record<string, unknown>) =>
          JSON.stringify({ timestamp: "2026-10-01T00:00:30Z", ...m });
        const filler = (n: number) =>
          line({ type: "track", userId: "u-y", event: "Filler", messageId: `ax-f${n}` });
        const file = writeLines([
          line({ type: "page", anonymousId: "anon-x", messageId: "ax-1", name: "Pricing" }),
          filler(1),
          line({ type: "alias", previousId: "anon-x", userId: "u-x", messageId: "ax-2" }),
          filler(2),
          line({ type: "group", userId: "u-x", groupId: "acct_x", messageId: "ax-4" }),
        ]);
        const summary = await importFile({ db: store.db, clock: systemClock }, file, { batchSize: 2 });
        expect(summary).toEqual({ accepted: 5, duplicates: 0, rejected: [] });
        expect(await accountOf("ax-1")).toBe("acct_x");
      });

      it("keeps the newest value of each trait, whatever order the calls arrive in", async () => {
        const group = (id: string, at: string, traits: Record<string, unknown>) =>
          message({ type: "group", userId: "u-t", groupId: "acct_t", messageId: id, timestamp: at, traits });
        const identify = (id: string, at: string, traits: Record<string, unknown>) =>
          message({ type: "identify", userId: "u-t", messageId: id, timestamp: at, traits });
        // Newest first, then two older ones, each in its own batch.
        await storeMessages(store.db, [
          group("t3", "2026-10-03T00:00:00Z", { name: "Tango 3", plan: "pro" }),
        ]);
        await storeMessages(store.db, [
          group("t1", "2026-10-01T00:00:00Z", {
            name: "Tango 1",
            plan: "trial",
            region: "EU",
            tech_stack: ["Slack"],
            seats: 5,
          }),
        ]);
        await storeMessages(store.db, [
          group("t2", "2026-10-02T00:00:00Z", { seats: 12, website: "https://www.tango.example" }),
        ]);
        const account = await store.db.prisma.account.findUniqueOrThrow({ where: { id: "acct_t" } });
        expect(account).toMatchObject({
          name: "Tango 3",
          plan: "pro",
          region: "EU",
          techStack: ["Slack"],
          seats: 12,
          domain: "tango.example",
        });
        expect(account.traits).toEqual({
          name: "Tango 3",
          plan: "pro",
          region: "EU",
          tech_stack: ["Slack"],
          seats: 12,
          website: "https://www.tango.example",
        });
        expect(account.traitsAt?.toISOString()).toBe("2026-10-03T00:00:00.000Z");

        await storeMessages(store.db, [identify("i2", "2026-10-02T00:00:00Z", { title: "CTO" })]);
        await storeMessages(store.db, [
          identify("i1", "2026-10-01T00:00:00Z", { title: "Intern", email: "Tess@Tango.example" }),
        ]);
        await storeMessages(store.db, [identify("i3", "2026-10-03T00:00:00Z", { jobTitle: "Founder" })]);
        const user = await store.db.prisma.user.findUniqueOrThrow({ where: { id: "u-t" } });
        // The title column follows the newest of the traits it is read from (title, jobTitle, job_title).
        expect(user).toMatchObject({ title: "Founder", email: "tess@tango.example" });
        expect(user.traits).toEqual({ title: "CTO", email: "Tess@Tango.example", jobTitle: "Founder" });
      });

      it("reads a field from the newest of its traits, in one batch or several alike", async () => {
        const group = (account: string, id: string, at: string, traits: Record<string, unknown>) =>
          message({
            type: "group",
            userId: `u-${account}`,
            groupId: account,
            messageId: id,
            timestamp: at,
            traits,
          });
        const older = (a: string) =>
          group(a, `${a}-1`, "2026-10-01T00:00:00Z", { domain: "a-alias.example" });
        const newer = (a: string) =>
          group(a, `${a}-2`, "2026-10-02T00:00:00Z", { website: "https://b-alias.example" });
        await storeMessages(store.db, [older("acct_one_batch"), newer("acct_one_batch")]);
        await storeMessages(store.db, [newer("acct_two_batches")]);
        await storeMessages(store.db, [older("acct_two_batches")]);
        for (const id of ["acct_one_batch", "acct_two_batches"]) {
          const account = await store.db.prisma.account.findUniqueOrThrow({ where: { id } });
          expect(account.domain, id).toBe("b-alias.example");
        }
        const identify = (id: string, at: string, traits: Record<string, unknown>) =>
          message({ type: "identify", userId: "u-vp", messageId: id, timestamp: at, traits });
        await storeMessages(store.db, [identify("vp-5", "2026-10-05T00:00:00Z", { title: "CTO" })]);
        await storeMessages(store.db, [
          identify("vp-1", "2026-10-01T00:00:00Z", { title: "Intern" }),
          identify("vp-9", "2026-10-09T00:00:00Z", { jobTitle: "VP Sales" }),
        ]);
        const user = await store.db.prisma.user.findUniqueOrThrow({ where: { id: "u-vp" } });
        expect(user.title).toBe("VP Sales");
        expect(user.traits).toEqual({ title: "CTO", jobTitle: "VP Sales" });
      });

      it("ignores trait values the columns cannot hold, keeping the message and the good values", async () => {
        const group = (id: string, at: string, traits: Record<string, unknown>) =>
          message({ type: "group", userId: "u-m", groupId: "acct_m", messageId: id, timestamp: at, traits });
        await storeMessages(store.db, [
          group("m-1", "2026-10-01T00:00:00Z", { name: "Mint", mrr: 1200, tech_stack: ["Slack"] }),
        ]);
        const result = await storeMessages(store.db, [
          group("m-2", "2026-10-02T00:00:00Z", { mrr: 1e10, tech_stack: 42, plan: "pro" }),
        ]);
        expect(result).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
        const account = await store.db.prisma.account.findUniqueOrThrow({ where: { id: "acct_m" } });
        expect(account).toMatchObject({ name: "Mint", plan: "pro", techStack: ["Slack"] });
        expect(Number(account.mrr)).toBe(1200);
        const parsed = parseSegmentMessage(
          { type: "track", userId: "u-m", event: "x", timestamp: "0000-06-01T00:00:00Z" },
          { receivedAt: new Date() },
        );
        expect(parsed).toEqual({ ok: false, reason: 'unparseable timestamp "0000-06-01T00:00:00Z"' });
      });

      it("imports a file with a NUL line: the valid lines are stored, the bad one is named by its line", async () => {
        const file = writeLines([
          JSON.stringify({
            type: "track",
            userId: "u-n",
            event: "A",
            messageId: "nl-1",
            context: { groupId: "acct_n" },
          }),
          JSON.stringify({
            type: "track",
            userId: "u-n",
            event: "B",
            messageId: "nl-2",
            properties: { note: "x\u0000y" },
          }),
          JSON.stringify({ type: "identify", userId: "u-n", messageId: "nl-3", traits: { title: "\udc00" } }),
          JSON.stringify({
            type: "track",
            userId: "u-n",
            event: "C",
            messageId: "nl-4",
            context: { groupId: "acct_n" },
          }),
        ]);
        await store.close(); // the CLI is another process: it must be able to open the database
        const run = await runCli(["import", file, "--json"], store.env);
        expect(run.code).toBe(0);
        expect(run.json).toEqual({
          accepted: 2,
          duplicates: 0,
          rejected: [
            {
              line: 2,
              reason: "properties.note: contains a NUL character (\\u0000), which cannot be stored",
            },
            {
              line: 3,
              reason: "traits.title: contains a lone surrogate (\\udc00), which is not valid Unicode",
            },
          ],
        });
        const text = await runCli(["import", file], store.env);
        expect(text.stdout).toContain("0 accepted, 2 duplicates, 2 rejected");
        expect(text.stdout).toMatch(/│\s+2 │ properties\.note: contains a NUL character/);
      });
    },
  );
}
