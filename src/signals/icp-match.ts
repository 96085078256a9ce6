import type { PqlConfig } from "../config/schema.ts";
import type { Firmographics } from "./account-features.ts";

export interface IcpMatch {
  /** 0-100, or null when no criterion could be evaluated (no firmographics). */
  score: number | null;
  qualified: boolean;
  /** Plain words for what was matched ("1,200 employees", "Software", "uses BambooHR"). */
  facts: string[];
  /** Criteria whose data is missing; each counts as a neutral 0.5. */
  unknown: string[];
}

/** A criterion with no data counts as this (neither a fit nor a misfit). */
export const UNKNOWN_MATCH = 0.5;

/**
 * ICP match from firmographics and the config's weighted criteria: sum(weight x match) / sum(weight),
 * as 0-100. Pure.
 */
export function icpMatch(firmographics: Firmographics, icp: PqlConfig["icp"]): IcpMatch {
  const parts: { weight: number; match: number | null; fact: string | null; name: string }[] = [];
  if (icp.employees) {
    const n = firmographics.employees;
    const band =
      n === null
        ? undefined
        : icp.employees.bands.find((b) => n >= (b.min ?? 0) && n <= (b.max ?? Number.POSITIVE_INFINITY));
    parts.push({
      name: "company size",
      weight: icp.employees.weight,
      match: n === null ? null : (band?.score ?? 0),
      fact: n === null ? null : `${n.toLocaleString("en-US")} employees`,
    });
  }
  for (const [name, criterion, value] of [
    ["industry", icp.industry, firmographics.industry],
    ["region", icp.region, firmographics.region],
  ] as const) {
    if (!criterion) continue;
    const entry =
      value === null
        ? undefined
        : Object.entries(criterion.values).find(([k]) => k.toLowerCase() === value.toLowerCase());
    parts.push({
      name,
      weight: criterion.weight,
      match: value === null ? null : (entry?.[1] ?? criterion.otherwise),
      fact: value,
    });
  }
  if (icp.techStack) {
    const stack = firmographics.techStack;
    const wanted = icp.techStack.anyOf.map((t) => t.toLowerCase());
    const used = stack.filter((t) => wanted.includes(t.toLowerCase()));
    parts.push({
      name: "tech stack",
      weight: icp.techStack.weight,
      match: stack.length === 0 ? null : used.length > 0 ? 1 : 0,
      fact:
        used.length > 0
          ? `uses ${used.join(", ")}`
          : stack.length > 0
            ? `no ${icp.techStack.anyOf.slice(0, 2).join("/")}-type tool`
            : null,
    });
  }
  const known = parts.filter((p) => p.match !== null);
  const totalWeight = parts.reduce((sum, p) => sum + p.weight, 0);
  if (known.length === 0 || totalWeight === 0) {
    return { score: null, qualified: false, facts: [], unknown: parts.map((p) => p.name) };
  }
  const score = round1(
    (100 * parts.reduce((sum, p) => sum + p.weight * (p.match ?? UNKNOWN_MATCH), 0)) / totalWeight,
  );
  return {
    score,
    qualified: score >= icp.qualifiedAt,
    facts: known.map((p) => p.fact).filter((f): f is string => f !== null),
    unknown: parts.filter((p) => p.match === null).map((p) => p.name),
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
