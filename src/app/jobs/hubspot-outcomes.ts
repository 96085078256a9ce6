import { BATCH_SIZE, type CrmObject } from "../../integrations/hubspot/batch-write.ts";
import { type HubSpotHttp, rejectedAnswer } from "../../integrations/hubspot/hubspot-http.ts";
import { matchedCompanyOutcomes, type OutcomeRow, storeOutcomes } from "../../store/outcome-store.ts";
import type { Runtime } from "../runtime.ts";

export interface OutcomeResult {
  /** Matched companies read. */
  companies: number;
  converted: number;
  notConverted: number;
}

/**
 * Reads what happened to matched companies back into outcomes (source "hubspot"), for
 * `evaluate` and calibration: with `from: deals`, a company converted if it has a deal in a won
 * stage (amount summed, earliest close date), read from the company's associations; with `from: companyProperty`, if the configured
 * company property holds one of the converted values. Matched companies without either are
 * recorded as not converted; an outcome recorded as converted by another source is kept.
 */
export async function syncOutcomes(
  rt: Pick<Runtime, "db" | "config">,
  http: HubSpotHttp,
): Promise<OutcomeResult> {
  const { db } = rt;
  const config = rt.config.config.hubspot;
  const rows = await matchedCompanyOutcomes(db);
  const accountOf = new Map(rows.map((r) => [r.company_id, r.account_id]));
  const won =
    config.outcomes.from === "deals"
      ? await wonDeals(http, config.outcomes.wonStages, accountOf)
      : await convertedByProperty(http, config.outcomes.companyProperty, config.outcomes.convertedValues, [
          ...accountOf.keys(),
        ]);
  const outcomes: OutcomeRow[] = [];
  for (const r of rows) {
    const w = won.get(r.company_id);
    if (w) outcomes.push({ accountId: r.account_id, converted: true, convertedAt: w.at, amount: w.amount });
    else if (r.converted !== true)
      outcomes.push({ accountId: r.account_id, converted: false, convertedAt: null, amount: null });
  }
  await storeOutcomes(db, outcomes, "hubspot");
  const converted = outcomes.filter((o) => o.converted).length;
  return { companies: rows.length, converted, notConverted: outcomes.length - converted };
}

type Won = Map<string, { at: Date | null; amount: number | null }>;

/**
 * Won deals of the matched companies: their deal associations (v4, 100 companies per call),
 * then those deals (100 per call), kept when their stage is won. Reading from our companies
 * rather than searching won deals has no 10,000-result ceiling and reads only what we match.
 */
async function wonDeals(http: HubSpotHttp, stages: string[], accountOf: Map<string, string>): Promise<Won> {
  const companiesOf = new Map<string, string[]>();
  const companyIds = [...accountOf.keys()];
  for (let i = 0; i < companyIds.length; i += BATCH_SIZE) {
    const { status, body } = await http.send<{
      results?: { from: { id: string }; to: { toObjectId: number | string }[] }[];
    }>({
      method: "POST",
      path: "/crm/v4/associations/companies/deals/batch/read",
      body: { inputs: companyIds.slice(i, i + BATCH_SIZE).map((id) => ({ id })) },
    });
    // 207: some companies have no deals (NO_ASSOCIATIONS_FOUND), which is not an error here.
    if (status !== 200 && status !== 207)
      throw rejectedAnswer("a company-to-deal association read", status, body);
    for (const link of body?.results ?? []) {
      for (const to of link.to) {
        const dealId = String(to.toObjectId);
        companiesOf.set(dealId, [...(companiesOf.get(dealId) ?? []), String(link.from.id)]);
      }
    }
  }
  const won: Won = new Map();
  const dealIds = [...companiesOf.keys()];
  for (let i = 0; i < dealIds.length; i += BATCH_SIZE) {
    const { status, body } = await http.send<{ results?: CrmObject[] }>({
      method: "POST",
      path: "/crm/v3/objects/deals/batch/read",
      body: {
        properties: ["amount", "closedate", "dealstage"],
        inputs: dealIds.slice(i, i + BATCH_SIZE).map((id) => ({ id })),
      },
    });
    if (status !== 200 && status !== 207) throw rejectedAnswer("a deal read", status, body);
    for (const deal of body?.results ?? []) {
      if (!stages.includes(deal.properties.dealstage ?? "")) continue;
      const amount = Number(deal.properties.amount);
      const at = deal.properties.closedate ? new Date(deal.properties.closedate) : null;
      for (const companyId of companiesOf.get(deal.id) ?? []) {
        const seen = won.get(companyId) ?? { at: null, amount: null };
        won.set(companyId, {
          at: at && (seen.at === null || at < seen.at) ? at : seen.at,
          amount: Number.isFinite(amount) ? (seen.amount ?? 0) + amount : seen.amount,
        });
      }
    }
  }
  return won;
}

async function convertedByProperty(
  http: HubSpotHttp,
  property: string,
  values: string[],
  companyIds: string[],
): Promise<Won> {
  const won: Won = new Map();
  for (let i = 0; i < companyIds.length; i += BATCH_SIZE) {
    const { status, body } = await http.send<{ results?: CrmObject[] }>({
      method: "POST",
      path: "/crm/v3/objects/companies/batch/read",
      body: { properties: [property], inputs: companyIds.slice(i, i + BATCH_SIZE).map((id) => ({ id })) },
    });
    if (status !== 200 && status !== 207) throw rejectedAnswer("a company read", status, body);
    for (const company of body.results ?? []) {
      const value = company.properties[property];
      if (value !== null && value !== undefined && values.includes(value))
        won.set(company.id, { at: null, amount: null });
    }
  }
  return won;
}
