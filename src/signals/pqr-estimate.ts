import type { PqlConfig } from "../config/schema.ts";
import { type AccountFeatures, NO_SIGNAL } from "./account-features.ts";
import { readTrait } from "./traits.ts";

export type PqrModel = "seats" | "per-employee" | "usage";

/** One volume signal's part of the usage revenue. */
export interface UsagePart {
  signal: string;
  /** Events in the signal's window, and that count annualised (count x 365 / windowDays). */
  count: number;
  windowDays: number;
  perYear: number;
  unitPrice: number;
  revenue: number;
}

interface PqrParts {
  /** Expected annual contract value if the account converts, in `currency`. */
  pqr: number;
  currency: string;
  /** Share added to the model's price when tier features are used (0 when none is). */
  tierFeatureUplift: number;
  tierFeaturesUsed: string[];
  /** Annualised volume x unit prices: added to seats and per-employee, the whole price of usage. */
  usageRevenue: number;
  /** The priced volume signals with events, each one's part of usageRevenue. */
  usage: UsagePart[];
  sizeMultiplier: number;
}

/** The estimate and the parts of its model, for `explain`. */
export type PqrEstimate = PqrParts &
  (
    | { model: "seats"; seats: number; seatPricePerMonth: number; seatRevenue: number }
    | {
        model: "per-employee";
        /** The employees priced: the employee count, or the active users when it is unknown. */
        employees: number;
        employeesFrom: "firmographics" | "trait" | "active users";
        /** The trait the employee count is read from (pqr.employeesTrait), if any. */
        employeesTrait: string | null;
        pricePerEmployeePerMonth: number;
        employeeRevenue: number;
      }
    | { model: "usage" }
  );

const DAYS_PER_YEAR = 365;

/**
 * Product-qualified revenue, by `pqr.model`. Pure.
 * - seats (default): (active users x projected seat expansion x seat price x 12, raised by the
 *   tier-feature uplift, + usage) x the company-size multiplier;
 * - per-employee: (employees x price per employee x 12, raised by the uplift, + usage) x the
 *   size multiplier; an unknown employee count is priced on the active users (a lower bound);
 * - usage: usage raised by the uplift, x the size multiplier.
 * Usage is each volume signal's count annualised (count x 365 / windowDays) x its unit price.
 */
export function estimatePqr(features: AccountFeatures, config: PqlConfig): PqrEstimate {
  const p = config.pqr;
  const tierFeaturesUsed = config.signals
    .filter((s) => s.tierFeature && (features.signals[s.key] ?? NO_SIGNAL).count > 0)
    .map((s) => s.key);
  const uplift = tierFeaturesUsed.length > 0 ? p.tierFeatureUplift : 0;
  const usage = usageParts(features, config);
  const usageRevenue = usage.reduce((sum, u) => sum + u.revenue, 0);
  const employeeCount = employeesOf(features, p.employeesTrait);
  const sizeMultiplier =
    employeeCount === null
      ? 1
      : (p.companySizeMultipliers
          .filter((m) => employeeCount >= m.minEmployees)
          .reduce<{ minEmployees: number; multiplier: number } | null>(
            (best, m) => (best === null || m.minEmployees > best.minEmployees ? m : best),
            null,
          )?.multiplier ?? 1);
  const parts = (base: number, addOn: number): PqrParts => ({
    pqr: round2((base * (1 + uplift) + addOn) * sizeMultiplier),
    currency: p.currency,
    tierFeatureUplift: uplift,
    tierFeaturesUsed,
    usageRevenue: round2(usageRevenue),
    usage: usage.map((u) => ({ ...u, perYear: round2(u.perYear), revenue: round2(u.revenue) })),
    sizeMultiplier,
  });
  if (p.model === "per-employee") {
    const employees = employeeCount ?? features.activeUsers;
    const employeeRevenue = employees * p.pricePerEmployeePerMonth * 12;
    return {
      ...parts(employeeRevenue, usageRevenue),
      model: "per-employee",
      employees,
      employeesFrom:
        employeeCount === null ? "active users" : p.employeesTrait === undefined ? "firmographics" : "trait",
      employeesTrait: p.employeesTrait ?? null,
      pricePerEmployeePerMonth: p.pricePerEmployeePerMonth,
      employeeRevenue: round2(employeeRevenue),
    };
  }
  if (p.model === "usage") return { ...parts(usageRevenue, 0), model: "usage" };
  const seats = features.activeUsers * p.projectedSeatExpansion;
  const seatRevenue = seats * p.seatPricePerMonth * 12;
  return {
    ...parts(seatRevenue, usageRevenue),
    model: "seats",
    seats: round2(seats),
    seatPricePerMonth: p.seatPricePerMonth,
    seatRevenue: round2(seatRevenue),
  };
}

/** The account's employee count: from the named trait, else the employees firmographic; null when unknown. */
function employeesOf(features: AccountFeatures, trait: string | undefined): number | null {
  if (trait === undefined) return features.firmographics.employees;
  const traits = features.firmographics.traits ?? {};
  return (Object.hasOwn(traits, trait) ? readTrait.wholeNumber(traits[trait]) : undefined) ?? null;
}

/** Each volume signal with events and a unit price, annualised and priced. */
function usageParts(features: AccountFeatures, config: PqlConfig): UsagePart[] {
  const { unitPrices, usagePricePerUnit } = config.pqr;
  return config.signals
    .filter((s) => s.kind === "volume")
    .map((s) => {
      const count = (features.signals[s.key] ?? NO_SIGNAL).count;
      const unitPrice = unitPrices?.[s.key] ?? usagePricePerUnit;
      return {
        signal: s.key,
        count,
        windowDays: s.windowDays,
        perYear: (count * DAYS_PER_YEAR) / s.windowDays,
        unitPrice,
        revenue: (count * DAYS_PER_YEAR * unitPrice) / s.windowDays,
      };
    })
    .filter((u) => u.count > 0 && u.unitPrice > 0);
}

/**
 * The estimate in plain words, e.g. "$54,000/yr = 300 employees x $15/employee/month x 12 x 1.0
 * size multiplier". Pure.
 */
export function describePqr(e: PqrEstimate): string {
  const money = (amount: number) => formatMoney(amount, e.currency);
  const factor = (x: number) => (Number.isInteger(x) ? x.toFixed(1) : String(x));
  let base: string;
  if (e.model === "seats") {
    base = `${e.seats.toLocaleString("en-US")} seats x ${money(e.seatPricePerMonth)}/seat/month x 12`;
  } else if (e.model === "per-employee") {
    const from =
      e.employeesFrom === "active users"
        ? ` (active users; ${e.employeesTrait ?? "employee count"} unknown)`
        : e.employeesFrom === "trait"
          ? ` (${e.employeesTrait})`
          : "";
    base = `${e.employees.toLocaleString("en-US")} employees${from} x ${money(e.pricePerEmployeePerMonth)}/employee/month x 12`;
  } else {
    const each = e.usage.map(
      (u) =>
        `${u.count.toLocaleString("en-US")} ${u.signal} in ${u.windowDays} days (${u.perYear.toLocaleString("en-US")}/yr) x ${money(u.unitPrice)}`,
    );
    base =
      each.length === 0 ? "no volume" : each.length === 1 ? (each[0] as string) : `(${each.join(" + ")})`;
  }
  const uplift =
    e.tierFeatureUplift > 0
      ? ` x ${factor(1 + e.tierFeatureUplift)} tier features (${e.tierFeaturesUsed.join(", ")})`
      : "";
  const addOn = e.model !== "usage" && e.usageRevenue > 0 ? ` + ${money(e.usageRevenue)}/yr usage` : "";
  const price = addOn === "" ? `${base}${uplift}` : `(${base}${uplift}${addOn})`;
  return `${money(e.pqr)}/yr = ${price} x ${factor(e.sizeMultiplier)} size multiplier`;
}

/** "$54,000", "$3,001.67", "$0.50"; an unknown currency code as "XYZ 54,000". */
function formatMoney(amount: number, currency: string): string {
  const digits = Number.isInteger(amount) ? 0 : 2;
  try {
    return new Intl.NumberFormat("en-US", {
      style: "currency",
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(amount);
  } catch {
    return `${currency} ${amount.toLocaleString("en-US")}`;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
