import type { TopLevelSpec } from "vega-lite";
import { chartFigure, esc, htmlPage, metric, rows, VEGA_LITE_SCHEMA } from "./html.ts";
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
        $schema: VEGA_LITE_SCHEMA,
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
        $schema: VEGA_LITE_SCHEMA,
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
  const figures = await Promise.all(charts.map((c) => chartFigure(c.id, c.title, c.spec)));
  const minutes = (m: number | null) => (m === null ? "-" : String(m));
  return htmlPage(
    "pql-router manager report",
    `<h1>Manager report</h1>
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
    )}</table>`,
  );
}

function bar(
  values: Record<string, string | number>[],
  x: string,
  y: string,
  title: string,
  sort: string[] | null,
): TopLevelSpec {
  return {
    $schema: VEGA_LITE_SCHEMA,
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
