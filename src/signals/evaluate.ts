/**
 * How well scores predict conversion, against known outcomes. Pure.
 */
export interface Evaluation {
  accounts: number;
  converted: number;
  baseRate: number;
  /** Probability that a random converter scores above a random non-converter (ties count half). */
  auc: number | null;
  tiers: { tier: string; accounts: number; converted: number; rate: number }[];
}

export function evaluate(rows: readonly { score: number; tier: string; converted: boolean }[]): Evaluation {
  const converted = rows.filter((r) => r.converted).length;
  const tiers = ["hot", "warm", "cold"].map((tier) => {
    const inTier = rows.filter((r) => r.tier === tier);
    const won = inTier.filter((r) => r.converted).length;
    return {
      tier,
      accounts: inTier.length,
      converted: won,
      rate: inTier.length === 0 ? 0 : round4(won / inTier.length),
    };
  });
  return {
    accounts: rows.length,
    converted,
    baseRate: rows.length === 0 ? 0 : round4(converted / rows.length),
    auc: auc(rows),
    tiers,
  };
}

/** Rank-based AUC (Mann-Whitney U), with average ranks for tied scores. */
export function auc(rows: readonly { score: number; converted: boolean }[]): number | null {
  const positives = rows.filter((r) => r.converted).length;
  const negatives = rows.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const sorted = [...rows].sort((a, b) => a.score - b.score);
  let rankSum = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (
      j < sorted.length &&
      (sorted[j] as (typeof sorted)[number]).score === (sorted[i] as (typeof sorted)[number]).score
    )
      j++;
    const averageRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if ((sorted[k] as (typeof sorted)[number]).converted) rankSum += averageRank;
    i = j;
  }
  return round4((rankSum - (positives * (positives + 1)) / 2) / (positives * negatives));
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
