import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { checkConfigText } from "../../../src/config/load-config.ts";
import type { PqlConfig } from "../../../src/config/schema.ts";
import { clickhouseDialect, postgresDialect } from "../../../src/sources/dialect.ts";
import { byListBytes, snakeCase } from "../../../src/sources/warehouse-source.ts";
import { signalMatch } from "../../../src/sources/warehouse-sql.ts";
import { SCORING_CONFIG } from "../../helpers/scoring.ts";

const signal = (match: PqlConfig["signals"][number]["match"]): PqlConfig["signals"][number] => ({
  ...(SCORING_CONFIG.signals[0] as PqlConfig["signals"][number]),
  match,
});

describe("signalMatch: one condition per signal, rendered per dialect", () => {
  const s = signal({ events: ["It's"], screens: ["Home"], pages: ["Pricing", "/plans", "/docs/100%_*"] });

  it("PostgreSQL: E'' literals, LIKE with the wildcards of the pattern escaped", () => {
    expect(signalMatch(postgresDialect, s)).toBe(
      "((type = 'track' AND event IN (E'It''s')) OR (type = 'screen' AND event IN (E'Home')) OR " +
        "(type = 'page' AND event IN (E'Pricing')) OR (type = 'page' AND path IN (E'/plans')) OR " +
        "(type = 'page' AND path != '' AND path LIKE E'/docs/100\\\\%\\\\_%'))",
    );
  });

  it("ClickHouse: backslash-escaped literals, the same shape", () => {
    expect(signalMatch(clickhouseDialect, s)).toBe(
      "((type = 'track' AND event IN ('It\\'s')) OR (type = 'screen' AND event IN ('Home')) OR " +
        "(type = 'page' AND event IN ('Pricing')) OR (type = 'page' AND path IN ('/plans')) OR " +
        "(type = 'page' AND path != '' AND path LIKE '/docs/100\\\\%\\\\_%'))",
    );
  });

  it("a signal matching nothing is false on both", () => {
    expect(signalMatch(postgresDialect, signal({}))).toBe("false");
    expect(signalMatch(clickhouseDialect, signal({}))).toBe("0");
  });
});

describe("byListBytes", () => {
  it("keeps each statement's list of keys within the byte budget, in order, none lost", () => {
    const keys = ["aaaa", "bbbb", "cccc", "é🚀"];
    // Each key costs its UTF-8 bytes plus 4 (quotes, comma, space): 8, 8, 8, 10.
    expect(byListBytes(keys, 16)).toEqual([["aaaa", "bbbb"], ["cccc"], ["é🚀"]]);
    expect(byListBytes(keys, 1000)).toEqual([keys]);
    expect(byListBytes([], 10)).toEqual([]);
    // A key longer than the budget still goes, alone.
    expect(byListBytes(["x".repeat(50), "y"], 10)).toEqual([["x".repeat(50)], ["y"]]);
  });
});

describe("snakeCase: Segment's flattening of trait names", () => {
  it.each([
    ["jobTitle", "job_title"],
    ["tech_stack", "tech_stack"],
    ["employeeCount", "employee_count"],
    ["address.city", "address_city"],
  ])("%s -> %s", (name, column) => expect(snakeCase(name)).toBe(column));
});

describe("source: in the config", () => {
  const problems = (source: unknown) => {
    const result = checkConfigText(YAML.stringify({ ...SCORING_CONFIG, source }));
    return result.ok ? [] : result.problems;
  };

  it("takes a preset or a mapping, never both or neither", () => {
    expect(problems({ type: "clickhouse", preset: "segment-warehouse", database: "analytics" })).toEqual([]);
    expect(problems({ type: "builtin" })).toEqual([]);
    expect(problems({ type: "postgres", database: "analytics" }).join("\n")).toContain(
      "expected either preset: segment-warehouse or a mapping, not both",
    );
  });

  it("names a bad type, and a database that is not a plain identifier", () => {
    expect(problems({ type: "snowflake", database: "x" }).join("\n")).toContain(
      "expected type: builtin, postgres or clickhouse",
    );
    expect(
      problems({ type: "postgres", preset: "segment-warehouse", database: "analytics; drop" }).join("\n"),
    ).toMatch(/source\.database.*plain table or column name/);
  });
});
