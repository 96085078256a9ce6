import type { PqlConfig } from "../config/schema.ts";
import { type AccountFeatures, NO_SIGNAL } from "./account-features.ts";

export interface PqrEstimate {
  /** Expected annual contract value if the account converts, in `currency`. */
  pqr: number;
  currency: string;
  /** The parts, for `explain`. */
  seats: number;
  seatRevenue: number;
  tierFeatureUplift: number;
  tierFeaturesUsed: string[];
  usageRevenue: number;
  sizeMultiplier: number;
}

/**
 * Product-qualified revenue: (active users x projected seat expansion x seat price x 12, raised
 * by the tier-feature uplift when gated features are used, plus annualised usage of volume
 * signals x unit price) x the company-size multiplier. Pure.
 */
export function estimatePqr(features: AccountFeatures, config: PqlConfig): PqrEstimate {
  const p = config.pqr;
  const seats = features.activeUsers * p.projectedSeatExpansion;
  const seatRevenue = seats * p.seatPricePerMonth * 12;
  const tierFeaturesUsed = config.signals
    .filter((s) => s.tierFeature && (features.signals[s.key] ?? NO_SIGNAL).count > 0)
    .map((s) => s.key);
  const uplift = tierFeaturesUsed.length > 0 ? p.tierFeatureUplift : 0;
  const usageRevenue = config.signals
    .filter((s) => s.kind === "volume")
    .reduce(
      (sum, s) =>
        sum + ((features.signals[s.key] ?? NO_SIGNAL).count * 365 * p.usagePricePerUnit) / s.windowDays,
      0,
    );
  const employees = features.firmographics.employees;
  const sizeMultiplier =
    employees === null
      ? 1
      : (p.companySizeMultipliers
          .filter((m) => employees >= m.minEmployees)
          .reduce<{ minEmployees: number; multiplier: number } | null>(
            (best, m) => (best === null || m.minEmployees > best.minEmployees ? m : best),
            null,
          )?.multiplier ?? 1);
  return {
    pqr: round2((seatRevenue * (1 + uplift) + usageRevenue) * sizeMultiplier),
    currency: p.currency,
    seats: round2(seats),
    seatRevenue: round2(seatRevenue),
    tierFeatureUplift: uplift,
    tierFeaturesUsed,
    usageRevenue: round2(usageRevenue),
    sizeMultiplier,
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
