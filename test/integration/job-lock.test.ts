import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/store/database.ts";
import { withJobLock } from "../../src/store/job-lock.ts";
import { createTestStore, postgresAvailable, SKIP_PG_REASON } from "../helpers/databases.ts";

const later = <T>(value: T, ms: number) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe.skipIf(!postgresAvailable)(
  `exclusive jobs on postgres${postgresAvailable ? "" : ` (${SKIP_PG_REASON})`}`,
  () => {
    it("refuses a second job of the same kind while one runs, from another process's connection", async () => {
      const store = await createTestStore("postgres");
      const other = await openDatabase({ databaseUrl: store.env.DATABASE_URL, dataDir: "/nonexistent" });
      try {
        const first = withJobLock(store.db, "HubSpot sync", () => later("first", 300));
        await later(null, 50);
        await expect(withJobLock(other, "HubSpot sync", async () => "second")).rejects.toThrow(
          /another HubSpot sync is running/,
        );
        // Another kind of job is not held back, and the first finishes normally.
        await expect(withJobLock(other, "scoring pass", async () => "pass")).resolves.toBe("pass");
        await expect(first).resolves.toBe("first");
        await expect(withJobLock(other, "HubSpot sync", async () => "after")).resolves.toBe("after");
      } finally {
        await other.close();
        await store.dispose();
      }
    });
  },
);

describe("exclusive jobs on the embedded database", () => {
  it("runs a process's jobs of one kind one after the other", async () => {
    const store = await createTestStore("embedded");
    try {
      const order: string[] = [];
      const job = (name: string, ms: number) =>
        withJobLock(store.db, "scoring pass", async () => {
          order.push(`${name} start`);
          await later(null, ms);
          order.push(`${name} end`);
        });
      await Promise.all([job("a", 100), job("b", 10)]);
      expect(order).toEqual(["a start", "a end", "b start", "b end"]);
    } finally {
      await store.dispose();
    }
  });
});
