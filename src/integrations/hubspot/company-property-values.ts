import type { StoredCalibration } from "../../store/calibration-store.ts";
import type { CompanyState } from "../../store/hubspot-store.ts";
import { conversionPercent } from "../../tuning/probability.ts";
import { COMPANY } from "./property-definitions.ts";

/** How many reasons go into the company's "top reasons" property. */
const TOP_REASONS = 3;

/**
 * The pql-router properties a company should hold, as the strings HubSpot stores. Pure.
 * Missing values are "" (which clears the property in HubSpot). The conversion probability and
 * its calibration date need `calibration` (the current config's) and a score made by that config.
 */
export function companyPropertyValues(
  state: CompanyState,
  calibration: StoredCalibration | null,
): Record<string, string> {
  const iso = (d: Date | null) => (d ? d.toISOString() : "");
  const num = (n: number | null) => (n === null ? "" : String(n));
  const timeToClaim =
    state.routedAt && state.claimedAt
      ? String(Math.round((state.claimedAt.getTime() - state.routedAt.getTime()) / 360_000) / 10)
      : "";
  const score = state.score;
  const calibrated =
    calibration !== null && score !== null && state.configVersion === calibration.configVersion;
  const values: Record<string, string> = {
    [COMPANY.accountId]: state.accountId,
    [COMPANY.score]: num(state.score),
    [COMPANY.tier]: state.tier ?? "",
    [COMPANY.pqr]: num(state.pqr),
    [COMPANY.icp]: num(state.icp),
    [COMPANY.reasons]: state.reasons.slice(0, TOP_REASONS).join("\n"),
    [COMPANY.scoredAt]: iso(state.scoredAt),
    [COMPANY.routedAt]: iso(state.routedAt),
    [COMPANY.routedTo]: state.routedTo ?? "",
    [COMPANY.claimedBy]: state.claimedBy ?? "",
    [COMPANY.claimedAt]: iso(state.claimedAt),
    [COMPANY.timeToClaim]: timeToClaim,
    [COMPANY.configVersion]: state.configVersion ?? "",
    [COMPANY.probability]: calibrated ? String(conversionPercent(calibration, score)) : "",
    [COMPANY.calibratedAt]: calibrated ? calibration.fittedAt.toISOString().slice(0, 10) : "",
  };
  return values;
}

/**
 * The owner to write to the company after a claim in Slack: the claimer's HubSpot owner id,
 * unless it is already written or HubSpot refused that very value before. Written on its own
 * (never in the same update as the scores, so a refused owner cannot block them); never cleared.
 */
export function ownerChange(state: CompanyState): string | null {
  const owner = state.claimerOwnerId;
  if (!owner || state.written.hubspot_owner_id === owner || state.ownerRejected === owner) return null;
  return owner;
}

/**
 * The properties to send: those whose value differs from what was last written successfully.
 * Empty when nothing changed, or when the change is exactly what HubSpot last rejected (a 4xx
 * is not retried until the values change). Pure.
 */
export function changedProperties(
  desired: Record<string, string>,
  written: Record<string, string>,
  rejected: Record<string, string> | null,
): Record<string, string> {
  const changed: Record<string, string> = {};
  for (const [name, value] of Object.entries(desired)) {
    if ((written[name] ?? "") !== value || !(name in written)) changed[name] = value;
  }
  if (rejected && sameValues(changed, rejected)) return {};
  return changed;
}

function sameValues(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}
