import type { Database } from "./database.ts";
import { LATEST_SNAPSHOT } from "./score-store.ts";

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

/** Each account with a known outcome: its latest score and tier as of `asOf`, and whether it converted. */
export async function scoredOutcomes(
  db: Database,
  asOf: Date,
): Promise<{ score: number; tier: string; converted: boolean }[]> {
  const { rows } = await db.sql.query<{ score: number; tier: string; converted: boolean }>(
    `SELECT l.score, l.tier, o.converted FROM accounts a ${LATEST_SNAPSHOT} JOIN outcomes o ON o.account_id = a.id`,
    [asOf.toISOString()],
  );
  return rows;
}

/**
 * Every account matched to a HubSpot company, with `converted` as recorded by another source
 * than HubSpot (null when none), so a HubSpot read never overwrites a known conversion.
 */
export async function matchedCompanyOutcomes(
  db: Database,
): Promise<{ account_id: string; company_id: string; converted: boolean | null }[]> {
  const { rows } = await db.sql.query<{ account_id: string; company_id: string; converted: boolean | null }>(
    `SELECT h.account_id, h.company_id, o.converted FROM hubspot_companies h
    LEFT JOIN outcomes o ON o.account_id = h.account_id AND o.source <> 'hubspot'
    WHERE h.company_id IS NOT NULL`,
  );
  return rows;
}
