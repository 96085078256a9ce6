import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** The Vega-Lite schema every chart names. */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** One chart rendered to inline SVG at build time (no script in the page, no network). */
export async function chartFigure(id: string, title: string, spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return `<figure data-chart="${id}"><figcaption>${esc(title)}</figcaption>${svg}</figure>`;
}

/** A self-contained page: the reports' shared style, a title and a body. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1000px;color:#1d1d1f;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border-bottom:1px solid #ddd;padding:.3rem .7rem;text-align:left}
td:not(:first-child){text-align:right}.warn{background:#fff3cd;border-left:4px solid #e9b949;padding:.5rem 1rem;margin:.5rem 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:1rem}figure{margin:0}figcaption{font-weight:600;margin-bottom:.3rem}
</style></head><body>
${body}
</body></html>
`;
}

/** Table rows from cells already escaped (or built with `metric`). */
export function rows(cells: string[][]): string {
  return cells.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("");
}

/** A number shown with `data-metric`: the path of the same number in the command's --json. */
export function metric(path: string, value: string): string {
  return `<span data-metric="${path}">${esc(value)}</span>`;
}

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
