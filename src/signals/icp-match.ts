import type { PqlConfig } from "../config/schema.ts";
import type { Firmographics } from "./account-features.ts";
import { readTrait } from "./traits.ts";

export interface IcpMatch {
  /** 0-100, or null when no criterion could be evaluated (no firmographics). */
  score: number | null;
  qualified: boolean;
  /** Plain words for what was matched ("1,200 employees", "Software", "uses Gusto (hris)"). */
  facts: string[];
  /** Criteria whose data is missing, by name ("industry", or the trait: "hris"); each counts as a neutral 0.5. */
  unknown: string[];
}

/** A criterion with no data counts as this (neither a fit nor a misfit). */
export const UNKNOWN_MATCH = 0.5;

interface Part {
  name: string;
  weight: number;
  match: number | null;
  fact: string | null;
}

/**
 * ICP match from firmographics and the config's weighted criteria: sum(weight x match) / sum(weight),
 * as 0-100. A criterion reads its built-in field, or the account trait it names (`trait: hris`),
 * parsed as the built-in fields are; its fact and its unknown name then say which trait. Pure.
 */
export function icpMatch(firmographics: Firmographics, icp: PqlConfig["icp"]): IcpMatch {
  const traits = firmographics.traits ?? {};
  const traitValue = (trait: string) => (Object.hasOwn(traits, trait) ? traits[trait] : undefined);
  /** "uses Gusto" -> "uses Gusto (hris)" when the criterion names its trait. */
  const named = (trait: string | undefined, fact: string) =>
    trait === undefined ? fact : `${fact} (${trait})`;
  const parts: Part[] = [];
  if (icp.employees) {
    const { trait } = icp.employees;
    const n =
      trait === undefined ? firmographics.employees : (readTrait.wholeNumber(traitValue(trait)) ?? null);
    const band =
      n === null
        ? undefined
        : icp.employees.bands.find((b) => n >= (b.min ?? 0) && n <= (b.max ?? Number.POSITIVE_INFINITY));
    parts.push({
      name: trait ?? "company size",
      weight: icp.employees.weight,
      match: n === null ? null : (band?.score ?? 0),
      fact: n === null ? null : named(trait, `${n.toLocaleString("en-US")} employees`),
    });
  }
  for (const [name, criterion, field] of [
    ["industry", icp.industry, firmographics.industry],
    ["region", icp.region, firmographics.region],
  ] as const) {
    if (!criterion) continue;
    const { trait } = criterion;
    const value = trait === undefined ? field : (readTrait.text(traitValue(trait)) ?? null);
    const entry =
      value === null
        ? undefined
        : Object.entries(criterion.values).find(([k]) => k.toLowerCase() === value.toLowerCase());
    parts.push({
      name: trait ?? name,
      weight: criterion.weight,
      match: value === null ? null : (entry?.[1] ?? criterion.otherwise),
      fact: value === null ? null : named(trait, value),
    });
  }
  if (icp.techStack) {
    const { trait, anyOf, values, otherwise } = icp.techStack;
    const stack = trait === undefined ? firmographics.techStack : (readTrait.list(traitValue(trait)) ?? []);
    // anyOf is values with every tool a full match.
    const listed = values ? Object.entries(values) : (anyOf ?? []).map((tool) => [tool, 1] as const);
    const matchOf = new Map(listed.map(([tool, match]) => [tool.toLowerCase(), match]));
    const used = stack.filter((t) => matchOf.has(t.toLowerCase()));
    parts.push({
      name: trait ?? "tech stack",
      weight: icp.techStack.weight,
      match:
        stack.length === 0
          ? null
          : used.length > 0
            ? Math.max(...used.map((t) => matchOf.get(t.toLowerCase()) ?? 0))
            : (otherwise ?? 0),
      fact:
        used.length > 0
          ? named(trait, `uses ${used.join(", ")}`)
          : stack.length > 0
            ? named(
                trait,
                `no ${listed
                  .slice(0, 2)
                  .map(([tool]) => tool)
                  .join("/")}-type tool`,
              )
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
