import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkConfigFile,
  checkConfigText,
  configJsonSchema,
  loadConfig,
} from "../../../src/config/load-config.ts";
import { ConfigError } from "../../../src/errors.ts";
import { ROOT } from "../../helpers/cli.ts";

/** The tests' own complete config: editing the shipped example never breaks these tests. */
const FULL = path.join(ROOT, "test/fixtures/full.config.yaml");
const example = fs.readFileSync(FULL, "utf8");

/** The test config with `from` replaced by `to` (exactly once, so the test fails loudly if the file changes). */
function edit(from: string, to: string, source = example): string {
  expect(source.split(from).length - 1, `"${from}" should occur once in the test config`).toBe(1);
  return source.replace(from, to);
}

function problems(source: string): string[] {
  const result = checkConfigText(source, "test.yaml");
  if (result.ok) throw new Error("expected the config to be invalid");
  return result.problems;
}

describe("the shipped example config", () => {
  it("is valid, with a version", () => {
    expect(loadConfig(path.join(ROOT, "pql-router.config.yaml")).version).toMatch(/^[0-9a-f]{12}$/);
  });
});

describe("a complete config", () => {
  it("is read with every list in order and defaults filled in", () => {
    const { config, version } = loadConfig(FULL);
    expect(version).toMatch(/^[0-9a-f]{12}$/);
    expect(config.personas.map((p) => p.key)).toEqual([
      "people_ops_leader",
      "finance",
      "hr_admin",
      "recruiter",
      "hiring_manager",
    ]);
    expect(config.milestones.map((m) => m.key)).toEqual([
      "import_employees",
      "configure_workflow",
      "invite_teammate",
      "core_value",
    ]);
    expect(config.signals.filter((s) => s.kind === "intent").map((s) => s.key)).toEqual([
      "pricing_page",
      "upgrade_prompt",
      "api_docs",
      "admin_settings",
    ]);
    // Defaults are filled in.
    expect(config.signals.find((s) => s.key === "report_run")?.windowDays).toBe(30);
  });

  it("keeps its version when only comments and layout change", () => {
    const a = checkConfigText(example);
    const b = checkConfigText(
      `# a new comment\n${example.replace("product:\n  name: Hireloop", "product: { name: Hireloop }")}`,
    );
    const c = checkConfigText(edit("hot: 70", "hot: 75"));
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (a.ok && b.ok && c.ok) {
      expect(b.version).toBe(a.version);
      expect(c.version).not.toBe(a.version);
    }
  });
});

describe("an invalid config", () => {
  it("lists every problem, each with its path, the bad value and its line", () => {
    const source = edit(
      "      capacity: 60",
      "      capacity: -3",
      edit(
        "    weight: 1.5\n    saturation: 5\n    tierFeature: true",
        "    weight: -2\n    saturation: 5\n    tierFeature: true",
      ),
    );
    const found = problems(edit('cron: "*/15 * * * *"', 'cron: "every day"', source));
    expect(found).toHaveLength(3);
    expect(found[0]).toMatch(
      /^signals\[6\]\.weight: expected a number >= 0, got -2 \(line \d+, column \d+\)$/,
    );
    expect(found).toContain(
      `routing.pools[1].capacity: expected a positive integer, got -3 (line ${lineOf(source, "capacity: -3")}, column 17)`,
    );
    expect(found[2]).toMatch(
      /^schedule\.cron: expected a cron expression such as \*\/15 \* \* \* \* \(a sixth, seconds field first is allowed\), got "every day"/,
    );
  });

  it("names misspelt keys, missing keys, wrong types and broken cross-references", () => {
    let source = edit("    weight: 3\n    windowDays: 30", "    wieght: 3\n    windowDays: 30");
    source = edit("      pools: [smb]\n", "      pools: [smbx]\n", source);
    source = edit("signals: [workflow_configured]", "signals: [workflow_configured, no_such_signal]", source);
    source = edit("  seatPricePerMonth: 15", "  seatPricePerMonth: fifteen", source);
    source = edit("  hot: 70\n  warm: 40", "  hot: 30\n  warm: 40", source);
    const found = problems(source);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^signals\[0\]\.weight: missing, expected a number >= 0/),
        expect.stringMatching(/^signals\[0\]\.wieght: unknown key \(line \d+/),
        expect.stringMatching(
          /^routing\.reps\[3\]\.pools\[0\]: unknown pool, expected one of enterprise, mid-market, smb, got "smbx"/,
        ),
        expect.stringMatching(
          /^milestones\[1\]\.signals\[1\]: unknown signal, expected one of .*, got "no_such_signal"/,
        ),
        expect.stringMatching(/^pqr\.seatPricePerMonth: expected a number >= 0, got "fifteen"/),
        expect.stringMatching(/^tiers: expected hot > warm, got \{"hot":30,"warm":40\}/),
      ]),
    );
    expect(found).toHaveLength(6);
  });

  it("requires the price of the PQR model chosen, and refuses the prices of other models", () => {
    const pqr = "  currency: USD\n  seatPricePerMonth: 15\n  projectedSeatExpansion: 1.5\n";
    const perEmployee = edit("  currency: USD\n", "  model: per-employee\n  currency: USD\n");
    expect(problems(perEmployee)).toEqual([
      `pqr.pricePerEmployeePerMonth: missing, expected a price per employee per month, required with model: per-employee (line ${lineOf(perEmployee, "model: per-employee")}, column 3)`,
      expect.stringMatching(
        /^pqr\.seatPricePerMonth: not used with model: per-employee \(it prices model: seats\), got 15 \(line \d+/,
      ),
      expect.stringMatching(
        /^pqr\.projectedSeatExpansion: not used with model: per-employee \(it prices model: seats\), got 1\.5 \(line \d+/,
      ),
    ]);
    expect(
      problems(edit(`${pqr}  tierFeatureUplift: 0.25\n  usagePricePerUnit: 0.5\n`, "  model: usage\n")),
    ).toEqual([
      expect.stringMatching(
        /^pqr\.usagePricePerUnit: missing, expected a price per unit of volume, required with model: usage \(line \d+/,
      ),
    ]);
    expect(problems(edit("  seatPricePerMonth: 15\n", ""))).toEqual([
      expect.stringMatching(
        /^pqr\.seatPricePerMonth: missing, expected a price per seat per month, required with model: seats \(the default\)/,
      ),
    ]);
    expect(problems(edit("  currency: USD\n", "  model: per-seat\n  currency: USD\n"))).toEqual([
      expect.stringMatching(
        /^pqr\.model: expected model seats, per-employee or usage, got "per-seat" \(line \d+/,
      ),
    ]);
    const unitPrices = edit(
      "  usagePricePerUnit: 0.5\n",
      "  usagePricePerUnit: 0.5\n  unitPrices: { pricing_page: 1, candidate_added: -1 }\n",
    );
    expect(problems(unitPrices)).toEqual([
      expect.stringMatching(/^pqr\.unitPrices\.candidate_added: expected a number >= 0, got -1 \(line \d+/),
      expect.stringMatching(
        /^pqr\.unitPrices\.pricing_page: a signal of kind intent, expected a volume signal: candidate_added, got 1 \(line \d+/,
      ),
    ]);
  });

  it("accepts each PQR model with its price, and ICP criteria that name their trait", () => {
    const source = edit(
      "  currency: USD\n  seatPricePerMonth: 15\n  projectedSeatExpansion: 1.5\n",
      "  model: per-employee\n  pricePerEmployeePerMonth: 6\n  employeesTrait: headcount\n",
      edit("  techStack:\n", "  techStack:\n    trait: hris\n"),
    );
    const result = checkConfigText(source);
    expect(result.ok && result.config.pqr).toMatchObject({
      model: "per-employee",
      pricePerEmployeePerMonth: 6,
      employeesTrait: "headcount",
    });
    expect(result.ok && result.config.icp.techStack?.trait).toBe("hris");
    const usage = checkConfigText(
      edit("  currency: USD\n  seatPricePerMonth: 15\n  projectedSeatExpansion: 1.5\n", "  model: usage\n"),
    );
    expect(usage.ok && usage.config.pqr).toMatchObject({ model: "usage", usagePricePerUnit: 0.5 });
    // A tech stack criterion lists tools (anyOf) or grades them (values), not both.
    expect(problems(edit("  techStack:\n", "  techStack:\n    values: { Gusto: 1 }\n"))).toEqual([
      expect.stringMatching(
        /^icp\.techStack: expected exactly one of anyOf \(tools that fit\) or values \(tool -> match\), got \{/,
      ),
    ]);
  });

  it("reports YAML syntax errors with line and column", () => {
    const found = problems("product:\n  name: Hireloop\nsignals:\n  - key: a\n    match: [x\n");
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^line \d, column \d+: YAML syntax error: .*end with a ]/);
    expect(problems("a: 1\na: 2\n")[0]).toMatch(
      /^line 2, column 1: YAML syntax error: Map keys must be unique/,
    );
  });

  it("reports 20,000 unknown keys, each with its line, in time linear in the keys", () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `unknown_key_${i}: ${i}`).join("\n");
    const found = problems(`${example}\n${keys}\n`);
    const firstLine = example.split("\n").length + 1;
    expect(found).toHaveLength(20_000);
    expect(found[0]).toBe(`unknown_key_0: unknown key (line ${firstLine}, column 16)`);
    expect(found[19_999]).toBe(`unknown_key_19999: unknown key (line ${firstLine + 19_999}, column 20)`);
  }, 10_000);

  it("places 80,000 unknown keys (a file just under the size cap) within the same bound", () => {
    // A scan per lookup (quadratic) would take minutes here; the index per map keeps it to seconds.
    const keys = Array.from({ length: 80_000 }, (_, i) => `k${i}: 1`).join("\n");
    const source = `${example}\n${keys}\n`;
    expect(Buffer.byteLength(source)).toBeLessThan(1024 * 1024);
    const found = problems(source);
    expect(found).toHaveLength(80_000);
    expect(found[79_999]).toBe(`k79999: unknown key (line ${example.split("\n").length + 80_000}, column 9)`);
  }, 10_000);

  it("still reports a duplicate key in a long map, once, at the second occurrence", () => {
    const keys = Array.from({ length: 5_000 }, (_, i) => `  k${i}: 1`).join("\n");
    const found = problems(`extra:\n${keys}\n  k17: 2\n`);
    expect(found).toEqual(["line 5002, column 3: YAML syntax error: Map keys must be unique"]);
  });

  it("refuses a config file over 1 MB, and a string over 2,000 characters, naming the path", () => {
    const big = `${example}\n${"# padding padding padding padding\n".repeat(32_000)}`;
    expect(problems(big)).toEqual([
      `test.yaml: ${Buffer.byteLength(big).toLocaleString("en-US")} bytes, over the 1,048,576-byte (1 MB) limit for a config file`,
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pqlr-config-"));
    const file = path.join(dir, "big.yaml");
    fs.writeFileSync(file, big);
    const fromFile = checkConfigFile(file);
    expect(fromFile.ok).toBe(false);
    if (!fromFile.ok)
      expect(fromFile.problems).toEqual([
        expect.stringMatching(/over the 1,048,576-byte \(1 MB\) limit for a config file$/),
      ]);
    const long = edit("name: Hireloop", `name: "${"x".repeat(2_001)}"`);
    expect(problems(long)).toEqual([
      expect.stringMatching(
        /^product\.name: a string of 2,001 characters, over the 2,000-character limit \(line \d+, column \d+\)$/,
      ),
    ]);
    const longKey = problems(`${example}\n? ${"k".repeat(2_500)}\n: 1\n`);
    const keyLine = example.split("\n").length + 1;
    expect(longKey).toEqual([
      `(top level): a key of 2,500 characters, over the 2,000-character limit (line ${keyLine + 1}, column 3)`,
      `${"k".repeat(77)}...: unknown key (line ${keyLine + 1}, column 3)`,
    ]);
  });

  it("refuses a missing file and an empty one", () => {
    const missing = checkConfigFile("/nonexistent/pql.yaml");
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.problems).toEqual(["/nonexistent/pql.yaml: file not found"]);
    expect(problems("")).toEqual(
      expect.arrayContaining([
        "product: missing, expected object (line 1, column 1)".replace(" (line 1, column 1)", ""),
      ]),
    );
  });

  it("throws a ConfigError carrying every problem from loadConfig", () => {
    const dir = fs.mkdtempSync(path.join(ROOT, "node_modules", ".pqlr-"));
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(file, edit("  hot: 70\n", "  hot: 170\n"));
    try {
      expect(() => loadConfig(file)).toThrowError(ConfigError);
      expect(() => loadConfig(file)).toThrowError(/tiers\.hot: expected a score from 0 to 100, got 170/);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});

describe("the published JSON Schema", () => {
  it("is generated from the zod schema and checked in up to date (run `npm run schema`)", () => {
    const published = JSON.parse(
      fs.readFileSync(path.join(ROOT, "schema", "pql-router.config.schema.json"), "utf8"),
    );
    expect(published).toEqual(configJsonSchema());
    expect(Object.keys(published.properties)).toEqual(
      expect.arrayContaining(["signals", "personas", "milestones", "icp", "tiers", "pqr", "routing"]),
    );
    // The shipped example points editors at it.
    const shipped = fs.readFileSync(path.join(ROOT, "pql-router.config.yaml"), "utf8");
    expect(shipped.split("\n")[0]).toBe(
      "# yaml-language-server: $schema=./schema/pql-router.config.schema.json",
    );
  });
});

function lineOf(source: string, needle: string): number {
  return source.slice(0, source.indexOf(needle)).split("\n").length;
}
