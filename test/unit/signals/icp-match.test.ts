import { describe, expect, it } from "vitest";
import type { Firmographics } from "../../../src/signals/account-features.ts";
import { icpMatch } from "../../../src/signals/icp-match.ts";
import { scoreAccount } from "../../../src/signals/score-account.ts";
import { features, NOW, SCORING_CONFIG, scoringConfigWith } from "../../helpers/scoring.ts";

const NOTHING: Firmographics = {
  employees: null,
  industry: null,
  region: null,
  plan: null,
  seats: null,
  techStack: [],
};

/** A payroll product's ICP: every criterion names its trait; the tech stack is graded. */
const named = scoringConfigWith({
  icp: {
    qualifiedAt: 60,
    employees: {
      trait: "headcount",
      weight: 50,
      bands: [
        { min: 200, max: 2000, score: 1 },
        { max: 199, score: 0.4 },
      ],
    },
    industry: { trait: "vertical", weight: 30, values: { software: 1 }, otherwise: 0.2 },
    techStack: { trait: "hris", weight: 20, values: { Gusto: 1, ADP: 0.5 }, otherwise: 0.25 },
  },
}).icp;

const withTraits = (traits: Record<string, unknown>): Firmographics => ({ ...NOTHING, traits });

describe("icpMatch with criteria that name their trait", () => {
  it("reads a number sent as text and a list sent as an array, and names the traits in the facts", () => {
    // (50 x 1 + 30 x 1 + 20 x 0.5) / 100 = 90
    expect(
      icpMatch(withTraits({ headcount: "1,200", vertical: "Software", hris: ["ADP", "Slack"] }), named),
    ).toEqual({
      score: 90,
      qualified: true,
      facts: ["1,200 employees (headcount)", "Software (vertical)", "uses ADP (hris)"],
      unknown: [],
    });
  });

  it("reads a list sent as comma-separated text; the best listed tool counts", () => {
    // hris "Gusto, ADP": max(1, 0.5) = 1; headcount 150 is in the 0.4 band:
    // (50 x 0.4 + 30 x 1 + 20 x 1) / 100 = 70
    expect(icpMatch(withTraits({ headcount: 150, vertical: "software", hris: "Gusto, ADP" }), named)).toEqual(
      {
        score: 70,
        qualified: true,
        facts: ["150 employees (headcount)", "software (vertical)", "uses Gusto, ADP (hris)"],
        unknown: [],
      },
    );
  });

  it("counts a missing or unreadable trait as unknown, by the trait's name", () => {
    // headcount is not a number, hris is absent: (50 x 0.5 + 30 x 0.2 + 20 x 0.5) / 100 = 41
    expect(icpMatch(withTraits({ headcount: "about 300", vertical: "Retail" }), named)).toEqual({
      score: 41,
      qualified: false,
      facts: ["Retail (vertical)"],
      unknown: ["headcount", "hris"],
    });
    // Names are matched exactly as sent: HRIS is not hris.
    expect(icpMatch(withTraits({ HRIS: "Gusto", vertical: "Software" }), named).unknown).toEqual([
      "headcount",
      "hris",
    ]);
  });

  it("gives a known stack without a listed tool the otherwise match", () => {
    // (50 x 1 + 30 x 0.5 + 20 x 0.25) / 100 = 70
    expect(icpMatch(withTraits({ headcount: 500, hris: "Paychex" }), named)).toEqual({
      score: 70,
      qualified: true,
      facts: ["500 employees (headcount)", "no Gusto/ADP-type tool (hris)"],
      unknown: ["vertical"],
    });
  });

  it("reads only the named trait, not the built-in field", () => {
    const builtIn: Firmographics = {
      ...NOTHING,
      employees: 1200,
      industry: "Software",
      techStack: ["Gusto"],
    };
    expect(icpMatch(builtIn, named)).toEqual({
      score: null,
      qualified: false,
      facts: [],
      unknown: ["headcount", "vertical", "hris"],
    });
  });

  it("says which traits are unknown in the reasons", () => {
    const icp = { ...SCORING_CONFIG, icp: named };
    const result = scoreAccount(
      features({ firmographics: withTraits({ headcount: "1200", vertical: "Software" }) }),
      icp,
      NOW,
    );
    // (50 x 1 + 30 x 1 + 20 x 0.5) / 100 = 90
    expect(result.icp.score).toBe(90);
    expect(result.reasons).toContain("hris unknown: counted as neutral in ICP");
  });
});

describe("icpMatch without trait names", () => {
  it("reads the built-in fields as before, whatever the traits say", () => {
    const firmographics: Firmographics = {
      ...NOTHING,
      employees: 1200,
      industry: "Software",
      techStack: ["BambooHR", "Slack"],
      traits: { employees: 5, industry: "Retail", tech_stack: [] },
    };
    expect(icpMatch(firmographics, SCORING_CONFIG.icp)).toEqual({
      score: 100,
      qualified: true,
      facts: ["1,200 employees", "Software", "uses BambooHR"],
      unknown: [],
    });
    expect(icpMatch({ ...firmographics, techStack: ["Slack"] }, SCORING_CONFIG.icp)).toEqual({
      score: 80, // (50 x 1 + 30 x 1 + 20 x 0) / 100
      qualified: true,
      facts: ["1,200 employees", "Software", "no BambooHR-type tool"],
      unknown: [],
    });
  });
});
