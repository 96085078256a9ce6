import type { Database } from "./database.ts";

export interface OutcomeRow {
  accountId: string;
  converted: boolean;
  convertedAt: Date | null;
  amount: number | null;
}

/**
 * Upserts outcomes (what really happened to accounts) in one statement. Accounts we have never
 * seen are created as bare rows, so an outcome is never dropped for arriving before its events.
 */
export async function storeOutcomes(db: Database, rows: OutcomeRow[], source: string): Promise<number> {
  if (rows.length === 0) return 0;
  const json = JSON.stringify(
    rows.map((r) => ({
      account_id: r.accountId,
      converted: r.converted,
      converted_at: r.convertedAt?.toISOString() ?? null,
      amount: r.amount,
    })),
  );
  return db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO accounts (id) SELECT r.account_id FROM jsonb_to_recordset($1::jsonb) AS r(account_id text)
      ON CONFLICT (id) DO NOTHING`,
      [json],
    );
    const { rowCount } = await tx.query(
      `INSERT INTO outcomes (account_id, converted, converted_at, amount, source, recorded_at)
      SELECT r.account_id, r.converted, r.converted_at, r.amount, $2, now()
      FROM jsonb_to_recordset($1::jsonb) AS r(account_id text, converted boolean, converted_at timestamptz, amount numeric)
      ON CONFLICT (account_id) DO UPDATE SET converted = excluded.converted, converted_at = excluded.converted_at,
        amount = excluded.amount, source = excluded.source, recorded_at = excluded.recorded_at`,
      [json, source],
    );
    return rowCount;
  });
}
