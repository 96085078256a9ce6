import type { TopLevelSpec } from "vega-lite";
import type { BacktestReport } from "../app/jobs/backtest.ts";
import { chartFigure, esc, htmlPage, metric, rows, VEGA_LITE_SCHEMA } from "./html.ts";
import { pct } from "./manager-report.ts";

/**
 * The backtest as one self-contained page, charts by the same library as the manager report:
 * conversion by tier for each config, and weekly routing load against each pool's capacity.
 */
export async function backtestHtml(report: BacktestReport): Promise<string> {
  const conversion: TopLevelSpec = {
    $schema: VEGA_LITE_SCHEMA,
    width: 420,
    height: 220,
    data: {
      values: report.configs.flatMap((c) =>
        c.tiers.map((t) => ({ config: c.label, tier: t.tier, rate: t.rate })),
      ),
    },
    mark: { type: "bar" },
    encoding: {
      x: { field: "tier", type: "nominal", sort: ["hot", "warm", "cold"], title: null },
      xOffset: { field: "config", type: "nominal" },
      y: {
        field: "rate",
        type: "quantitative",
        axis: { format: "%" },
        title: "converted within the horizon",
      },
      color: { field: "config", type: "nominal", legend: { orient: "bottom", title: null } },
    },
  };
  const weeks = (perWeek: number[]) =>
    perWeek.map((_, i) =>
      new Date(Date.parse(report.period.from) + i * report.period.everyDays * 86_400_000)
        .toISOString()
        .slice(0, 10),
    );
  const load: TopLevelSpec = {
    $schema: VEGA_LITE_SCHEMA,
    width: 420,
    height: 220,
    layer: [
      {
        data: {
          values: report.configs.flatMap((c) =>
            c.load.flatMap((l) => {
              const at = weeks(l.perWeek);
              return l.perWeek.map((n, i) => ({ series: `${c.label}: ${l.label}`, week: at[i], n }));
            }),
          ),
        },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "week", type: "temporal", title: null },
          y: { field: "n", type: "quantitative", title: "new hot accounts per week" },
          color: { field: "series", type: "nominal", legend: { orient: "bottom", title: null } },
        },
      },
      {
        data: {
          values: (report.configs[0]?.load ?? []).map((l) => ({ pool: l.label, capacity: l.capacity })),
        },
        mark: { type: "rule", color: "#e63946", strokeDash: [4, 4] },
        encoding: { y: { field: "capacity", type: "quantitative" } },
      },
    ],
  };
  const last = report.configs[report.configs.length - 1];
  const calibration: TopLevelSpec = {
    $schema: VEGA_LITE_SCHEMA,
    width: 420,
    height: 220,
    layer: [
      {
        data: {
          values: [
            { p: 0 },
            {
              p: Math.max(
                0.01,
                ...(last?.calibration?.deciles ?? []).map((d) => Math.max(d.rate, d.predicted)),
              ),
            },
          ],
        },
        mark: { type: "line", color: "#999", strokeDash: [4, 4] },
        encoding: { x: { field: "p", type: "quantitative" }, y: { field: "p", type: "quantitative" } },
      },
      {
        data: {
          values: (last?.calibration?.deciles ?? []).map((d) => ({
            predicted: d.predicted,
            observed: d.rate,
            low: d.interval.low,
            high: d.interval.high,
          })),
        },
        layer: [
          {
            mark: { type: "rule", color: "#457b9d" },
            encoding: {
              x: { field: "predicted", type: "quantitative" },
              y: { field: "low", type: "quantitative" },
              y2: { field: "high" },
            },
          },
          {
            mark: { type: "point", filled: true, color: "#1d3557" },
            encoding: {
              x: {
                field: "predicted",
                type: "quantitative",
                axis: { format: "%" },
                title: "calibrated probability (decile mean)",
              },
              y: {
                field: "observed",
                type: "quantitative",
                axis: { format: "%" },
                title: "converted within the horizon",
              },
            },
          },
        ],
      },
    ],
  };
  const tradeOffData = report.tradeOff.filter((p) => p.scorings > 0);
  const tradeOff: TopLevelSpec = {
    $schema: VEGA_LITE_SCHEMA,
    width: 420,
    height: 220,
    data: { values: tradeOffData },
    encoding: { x: { field: "threshold", type: "quantitative", title: "hot threshold" } },
    layer: [
      {
        mark: { type: "line", color: "#1d3557" },
        encoding: { y: { field: "newPerWeek", type: "quantitative", title: "new hot accounts per week" } },
      },
      {
        mark: { type: "line", color: "#e63946" },
        encoding: {
          y: {
            field: "smoothedRate",
            type: "quantitative",
            axis: { format: "%" },
            title: "conversion (red)",
          },
        },
      },
    ],
    resolve: { scale: { y: "independent" } },
  };
  const figures = await Promise.all([
    chartFigure("calibration", `Calibration: ${last?.label ?? ""}`, calibration),
    chartFigure("threshold-trade-off", `Hot threshold trade-off: ${last?.label ?? ""}`, tradeOff),
    chartFigure("conversion-by-tier", "Conversion by tier", conversion),
    chartFigure("routing-load", "Weekly routing load against capacity (dashed)", load),
  ]);
  const p = report.period;
  const head = ["", ...report.configs.map((c) => esc(c.label))];
  const line = (label: string, f: (i: number) => string) => [label, ...report.configs.map((_, i) => f(i))];
  const cfg = (i: number) => report.configs[i] as BacktestReport["configs"][number];
  return htmlPage(
    "pql-router backtest",
    `<h1>Backtest</h1>
<p>${metric("period.points", String(p.points))} points every ${metric("period.everyDays", String(p.everyDays))} days from ${metric("period.from", p.from.slice(0, 10))} to ${metric("period.to", p.to.slice(0, 10))}; converted means within ${metric("period.horizonDays", String(p.horizonDays))} days after a point. Nothing live was written.</p>
${report.warnings.map((w, i) => `<p class="warn" data-metric="warnings.${i}">${esc(w)}</p>`).join("\n")}
<table><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>${rows([
      line("Scorings judged", (i) => metric(`configs.${i}.observations`, String(cfg(i).observations))),
      line("Base rate", (i) => metric(`configs.${i}.baseRate`, pct(cfg(i).baseRate))),
      ...cfg(0).tiers.map((t, k) =>
        line(`${t.tier} conversion`, (i) =>
          metric(`configs.${i}.tiers.${k}.rate`, pct(cfg(i).tiers[k]?.rate ?? 0)),
        ),
      ),
      line("Lift of hot", (i) => metric(`configs.${i}.hot.lift`, (cfg(i).hot.lift ?? 0).toFixed(2))),
      line("Precision of hot", (i) => metric(`configs.${i}.hot.precision`, pct(cfg(i).hot.precision ?? 0))),
      line("Recall of hot", (i) => metric(`configs.${i}.hot.recall`, pct(cfg(i).hot.recall ?? 0))),
      line("Revenue captured by hot", (i) => metric(`configs.${i}.revenue.hot`, String(cfg(i).revenue.hot))),
    ])}</table>
<div class="charts">
${figures.join("\n")}
</div>`,
  );
}
