import fs from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pct } from "../../src/reporting/manager-report.ts";
import { runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/databases.ts";

/** Debian's chromium (`.ci/run` installs it); its own download never works on these machines. */
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
if (!CHROMIUM && process.env.CI)
  throw new Error("CI is set but Debian's chromium is not installed: the report's page must be checked");

describe.skipIf(!CHROMIUM)("the HTML report in headless Chromium", () => {
  const dir = tempDir();
  const env = { PQL_DATA_DIR: dir };
  let report: Record<string, unknown>;
  const page = path.join(dir, "report.html");

  beforeAll(async () => {
    // The demo makes routings and the sample reps' claims; then the report as JSON and as a page.
    expect((await runCli(["demo", "--accounts", "150"], env)).code).toBe(0);
    // One run writes the page and prints its report as JSON (the same report object).
    const json = await runCli(["report", "--format", "html", "--out", page, "--json"], env);
    expect(json.code).toBe(0);
    report = json.json as Record<string, unknown>;
    expect(report.file).toBe(page);
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("renders every chart with no console error, and shows the numbers of report --json", async () => {
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM as string,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      tab.on("pageerror", (e) => errors.push(String(e)));
      tab.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
      await tab.goto(`file://${page}`, { waitUntil: "load" });
      const charts = await tab.$$eval("figure[data-chart]", (figures) =>
        figures.map((f) => {
          const svg = f.querySelector("svg");
          const box = svg?.getBoundingClientRect();
          return {
            id: f.getAttribute("data-chart"),
            marks: f.querySelectorAll("g.mark-rect path, g.mark-rule line, g.mark-rule path").length,
            width: box?.width ?? 0,
            height: box?.height ?? 0,
          };
        }),
      );
      expect(charts.map((c) => c.id)).toEqual(["funnel", "time-to-claim", "conversion", "claims-per-rep"]);
      for (const c of charts) {
        expect(c.marks, `${c.id} has marks`).toBeGreaterThan(0);
        expect(c.width, `${c.id} is drawn`).toBeGreaterThan(100);
        expect(c.height).toBeGreaterThan(100);
      }
      // Every number on the page is the one in report --json, at the path it names.
      const shown = await tab.$$eval("[data-metric]", (els) =>
        els.map((e) => ({ path: e.getAttribute("data-metric") as string, text: e.textContent ?? "" })),
      );
      expect(shown.length).toBeGreaterThan(15);
      for (const { path: p, text } of shown) {
        const value = p.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], report);
        const expected =
          typeof value === "number" && /rate|Rate/.test(p)
            ? pct(value)
            : value === null
              ? "-"
              : String(value);
        expect(text, p).toBe(expected);
      }
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
