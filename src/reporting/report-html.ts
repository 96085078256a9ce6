import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { type ManagerReport, pct } from "./manager-report.ts";

/**
 * The manager report as one self-contained HTML page (no script, no network): its tables, and
 * four charts rendered by Vega-Lite to inline SVG at build time (tier funnel, time to claim,
 * conversion by tier, claims per rep). Every number shown carries `data-metric`, the path of the
 * same number in `report --json`.
 */
export async function reportHtml(report: ManagerReport): Promise<string> {
  const funnel = [
    ...Object.entries(report.funnel.accounts).map(([tier, n]) => ({ step: `${tier} accounts`, n })),
    { step: "routed", n: report.funnel.routed },
    { step: "claimed", n: report.funnel.claimed },
    { step: "converted", n: report.funnel.converted },
  ];
  const charts = [
    {
      id: "funnel",
      title: "Tier funnel",
      spec: bar(
        funnel,
        "step",
        "n",
        "accounts",
        funnel.map((f) => f.step),
      ),
    },
    {
      id: "time-to-claim",
      title: "Time to claim (minutes)",
      spec: {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        width: 420,
        height: 200,
        data: { values: report.claims.minutesToClaim.map((m) => ({ minutes: m })) },
        mark: { type: "bar", color: "#457b9d" },
        encoding: {
          x: { field: "minutes", type: "quantitative", bin: { maxbins: 20 }, title: "minutes to claim" },
          y: { aggregate: "count", type: "quantitative", title: "claims" },
        },
      } satisfies TopLevelSpec,
    },
    {
      id: "conversion",
      title: "Conversion by tier",
      spec: {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        width: 420,
        height: 200,
        data: { values: report.conversion.tiers.map((t) => ({ tier: t.tier, rate: t.rate })) },
        layer: [
          {
            mark: { type: "bar", color: "#1d3557" },
            encoding: {
              x: { field: "tier", type: "nominal", sort: ["hot", "warm", "cold"], title: null },
              y: { field: "rate", type: "quantitative", axis: { format: "%" }, title: "converted" },
            },
          },
          {
            data: { values: [{ base: report.conversion.baseRate }] },
            mark: { type: "rule", color: "#e63946", strokeDash: [4, 4] },
            encoding: { y: { field: "base", type: "quantitative" } },
          },
        ],
      } satisfies TopLevelSpec,
    },
    {
      id: "claims-per-rep",
      title: "Claims per rep",
      spec: bar(
        report.byRep.map((r) => ({ rep: r.name, claims: r.claimed })),
        "rep",
        "claims",
        "claims",
        null,
      ),
    },
  ];
  const figures = await Promise.all(
    charts.map(async (c) => {
      const view = new vega.View(vega.parse(compile(c.spec).spec), { renderer: "none" });
      const svg = await view.toSVG();
      view.finalize();
      return `<figure data-chart="${c.id}"><figcaption>${esc(c.title)}</figcaption>${svg}</figure>`;
    }),
  );
  const metric = (path: string, value: string) => `<span data-metric="${path}">${esc(value)}</span>`;
  const minutes = (m: number | null) => (m === null ? "-" : String(m));
  const rows = (cells: string[][]) =>
    cells.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pql-router manager report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1000px;color:#1d1d1f;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border-bottom:1px solid #ddd;padding:.3rem .7rem;text-align:left}
td:not(:first-child){text-align:right}.warn{background:#fff3cd;border-left:4px solid #e9b949;padding:.5rem 1rem;margin:.5rem 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:1rem}figure{margin:0}figcaption{font-weight:600;margin-bottom:.3rem}
</style></head><body>
<h1>Manager report</h1>
<p>Routings since ${metric("since", report.since)}, as of ${metric("asOf", report.asOf)}.</p>
${report.warnings.map((w, i) => `<p class="warn" data-metric="warnings.${i}">${esc(w)}</p>`).join("\n")}
<h2>Claims</h2>
<table>${rows([
    ["Routed", metric("claims.routed", String(report.claims.routed))],
    ["Claimed", metric("claims.claimed", String(report.claims.claimed))],
    ["Claim rate", metric("claims.claimRate", pct(report.claims.claimRate))],
    [
      "Median minutes to claim",
      metric("claims.medianMinutesToClaim", minutes(report.claims.medianMinutesToClaim)),
    ],
    ["p90 minutes to claim", metric("claims.p90MinutesToClaim", minutes(report.claims.p90MinutesToClaim))],
    ["Converted", metric("funnel.converted", String(report.funnel.converted))],
    ["Escalations", metric("feedback.escalations", String(report.feedback.escalations))],
  ])}</table>
<div class="charts">
${figures.join("\n")}
</div>
<h2>Reps</h2>
<table><tr><th>Rep</th><th>Assigned</th><th>Claimed</th><th>Claim rate</th><th>Converted</th><th>Revenue</th></tr>${rows(
    report.byRep.map((r, i) => [
      esc(r.name),
      metric(`byRep.${i}.assigned`, String(r.assigned)),
      metric(`byRep.${i}.claimed`, String(r.claimed)),
      metric(`byRep.${i}.claimRate`, pct(r.claimRate)),
      metric(`byRep.${i}.converted`, String(r.converted)),
      metric(`byRep.${i}.revenue`, String(r.revenue)),
    ]),
  )}</table>
<h2>Conversion by tier</h2>
<p>Base rate ${metric("conversion.baseRate", pct(report.conversion.baseRate))} over ${metric("conversion.accounts", String(report.conversion.accounts))} accounts with a known outcome.</p>
<table><tr><th>Tier</th><th>Accounts</th><th>Converted</th><th>Rate</th></tr>${rows(
    report.conversion.tiers.map((t, i) => [
      esc(t.tier),
      metric(`conversion.tiers.${i}.accounts`, String(t.accounts)),
      metric(`conversion.tiers.${i}.converted`, String(t.converted)),
      metric(`conversion.tiers.${i}.rate`, pct(t.rate)),
    ]),
  )}</table>
<h2>Feedback</h2>
<table><tr><th>Not a fit</th><th>Count</th></tr>${rows(report.feedback.notAFit.map((f) => [esc(f.reason), String(f.n)]))}</table>
<table><tr><th>Snoozed for</th><th>Count</th></tr>${rows(report.feedback.snoozes.map((f) => [esc(f.reason), String(f.n)]))}</table>
<h2>Unclaimed, oldest first</h2>
<table><tr><th>Account</th><th>Pool</th><th>Assigned to</th><th>Routed</th><th>Hours open</th></tr>${rows(
    report.unclaimed.map((u) => [
      esc(u.name ?? u.domain ?? u.accountId),
      esc(u.pool),
      esc(u.repId ?? "-"),
      esc(u.routedAt),
      String(u.hoursOpen),
    ]),
  )}</table>
</body></html>
`;
}

function bar(
  values: Record<string, string | number>[],
  x: string,
  y: string,
  title: string,
  sort: string[] | null,
): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 420,
    height: 200,
    data: { values },
    mark: { type: "bar", color: "#1d3557" },
    encoding: {
      x: { field: x, type: "nominal", sort: sort ?? "-y", title: null, axis: { labelAngle: -30 } },
      y: { field: y, type: "quantitative", title },
    },
  };
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
