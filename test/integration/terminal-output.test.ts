import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { systemClock } from "../../src/clock.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import { parseSegmentMessage } from "../../src/signals/segment-message.ts";
import { storeMessages } from "../../src/store/message-store.ts";
import { runCli } from "../helpers/cli.ts";
import { createTestStore, type TestStore, tempDir } from "../helpers/databases.ts";

const EVIL = "\u001b[1;31mEvil\u001b[0m Corp\u0007\u202e";
const END = new Date("2026-11-01T00:00:00Z");
const dir = tempDir();
let store: TestStore;
let accountId: string;

beforeAll(async () => {
  const world = await generateWorld({
    accounts: 12,
    days: 20,
    seed: 4,
    end: END,
    out: path.join(dir, "w.ndjson"),
  });
  store = await createTestStore("embedded");
  await importFile({ db: store.db, clock: systemClock }, world.file);
  const { rows } = await store.db.sql.query<{ id: string }>("SELECT id FROM accounts ORDER BY id LIMIT 1");
  accountId = rows[0]?.id as string;
  const renamed = parseSegmentMessage(
    {
      type: "group",
      userId: "u-evil",
      groupId: accountId,
      messageId: "evil-1",
      timestamp: END.toISOString(),
      traits: { name: EVIL, industry: "Tech\u001b]0;owned\u0007nology" },
    },
    { receivedAt: END },
  );
  if (!renamed.ok) throw new Error(renamed.reason);
  await storeMessages(store.db, [renamed.message]);
  await store.close(); // the CLI runs in child processes
});
afterAll(async () => {
  await store?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("text for people never carries terminal controls from ingested data", () => {
  it("score and explain strip escape sequences and control characters; --json keeps the data", async () => {
    const at = ["--at", END.toISOString()];
    const score = await runCli(["score", ...at, "--limit", "100"], store.env);
    expect(score.code).toBe(0);
    const explain = await runCli(["explain", accountId, ...at], store.env);
    expect(explain.code).toBe(0);
    for (const run of [score, explain]) {
      expect(run.stdout).toContain("Evil Corp");
      // No ESC, BEL or bidi override: nothing that a terminal would act on.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
      expect(run.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    }
    expect(explain.stdout).toContain("Technology");
    const json = await runCli(["explain", accountId, ...at, "--json"], store.env);
    expect(json.json).toMatchObject({ name: EVIL });
  });
});
