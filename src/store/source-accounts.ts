import type { AccountFeatures } from "../signals/account-features.ts";
import type { SqlClient } from "./database.ts";

/**
 * With a warehouse source, pql-router's own `accounts` rows mirror what the source says of each
 * account scored (name, domain, firmographics, traits), so snapshots, routing, HubSpot and Slack
 * read them as with the builtin source. Written with the pass's snapshots; a row whose values did
 * not change is left alone.
 */
export async function upsertSourceAccounts(
  tx: SqlClient,
  features: readonly AccountFeatures[],
  at: Date,
): Promise<void> {
  if (features.length === 0) return;
  const rows = features.map((f) => ({
    id: f.accountId,
    name: f.name,
    domain: f.domain,
    employees: f.firmographics.employees,
    industry: f.firmographics.industry,
    region: f.firmographics.region,
    plan: f.firmographics.plan,
    seats: f.firmographics.seats,
    tech_stack: f.firmographics.techStack,
    traits: f.firmographics.traits ?? {},
  }));
  await tx.query(
    `INSERT INTO accounts AS a (id, name, domain, employees, industry, region, plan, seats, tech_stack, traits, updated_at)
    SELECT r.id, r.name, r.domain, r.employees, r.industry, r.region, r.plan, r.seats,
      COALESCE(r.tech_stack, ARRAY[]::text[]), COALESCE(r.traits, '{}'), $2::timestamptz
    FROM jsonb_to_recordset($1::jsonb) AS r(id text, name text, domain text, employees int, industry text, region text,
      plan text, seats int, tech_stack text[], traits jsonb)
    ON CONFLICT (id) DO UPDATE SET name = excluded.name, domain = excluded.domain, employees = excluded.employees,
      industry = excluded.industry, region = excluded.region, plan = excluded.plan, seats = excluded.seats,
      tech_stack = excluded.tech_stack, traits = excluded.traits, updated_at = excluded.updated_at
    WHERE (a.name, a.domain, a.employees, a.industry, a.region, a.plan, a.seats, a.tech_stack, a.traits)
      IS DISTINCT FROM (excluded.name, excluded.domain, excluded.employees, excluded.industry, excluded.region,
        excluded.plan, excluded.seats, excluded.tech_stack, excluded.traits)`,
    [JSON.stringify(rows), at.toISOString()],
  );
}
