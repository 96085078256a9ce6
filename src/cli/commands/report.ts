import fs from "node:fs";
import path from "node:path";
import { UsageError } from "../../errors.ts";
import { buildReport, type ManagerReport, pct, reportCsv } from "../../reporting/manager-report.ts";
import { reportHtml } from "../../reporting/report-html.ts";
import { readReportData } from "../../store/report-store.ts";
import type { Command } from "../command.ts";
import { formatNumber, keyValues, table } from "../output.ts";

/** `--since`: a duration back from now (30d, 12h) or a date (2026-11-01). */
export function sinceOption(value: unknown, now: Date): Date {
  if (value === undefined) return new Date(now.getTime() - 30 * 86_400_000);
  const text = String(value);
  const m = /^(\d{1,4})([dh])$/.exec(text);
  if (m) return new Date(now.getTime() - Number(m[1]) * (m[2] === "d" ? 86_400_000 : 3_600_000));
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime()) || at > now)
    throw new UsageError(
      `--since: expected a duration such as 30d or 12h, or a past date such as 2026-11-01, got ${JSON.stringify(text)}`,
    );
  return at;
}

const FORMATS = ["text", "csv", "json", "html"] as const;

export const reportCommand: Command = {
  usage: "report [--since 30d] [--format text|html|csv|json] [--out FILE]",
  summary:
    "the manager report: routed accounts by pool and rep, claim rate and time to claim, feedback, conversion by tier, unclaimed accounts, warnings",
  options: { since: { type: "string" }, format: { type: "string" }, out: { type: "string" } },
  async run(ctx, _positionals, values) {
    const format = (values.format ?? (values.json ? "json" : "text")) as string;
    if (!(FORMATS as readonly string[]).includes(format))
      throw new UsageError(`--format: expected one of ${FORMATS.join(", ")}, got ${JSON.stringify(format)}`);
    const now = new Date(ctx.clock.now());
    const since = sinceOption(values.since, now);
    const rt = await ctx.runtime({ config: true });
    const data = await readReportData(rt.db, since, rt.config.version);
    const report = buildReport(data, rt.config.config, { since, now });
    // html is a page: written to --out, else to the data directory.
    const out =
      typeof values.out === "string"
        ? values.out
        : format === "html"
          ? path.join(ctx.settings.dataDir, "report.html")
          : undefined;
    const body =
      format === "csv"
        ? reportCsv(data, rt.config.config)
        : format === "json"
          ? `${JSON.stringify(report, null, 2)}\n`
          : format === "html"
            ? await reportHtml(report)
            : `${renderReport(report)}\n`;
    if (out !== undefined) {
      fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
      fs.writeFileSync(out, body);
      return { json: { ...report, file: out }, text: `report (${format}) written to ${out}` };
    }
    // json: the report is the last line; csv and text: printed as they are.
    return { json: report, text: format === "csv" ? body.trimEnd() : renderReport(report) };
  },
};

export function renderReport(r: ManagerReport): string {
  const minutes = (m: number | null) =>
    m === null ? "-" : m < 120 ? `${m} min` : `${(m / 60).toFixed(1)} h`;
  const sections = [
    `Manager report: routings since ${r.since.slice(0, 10)} (as of ${r.asOf.slice(0, 16).replace("T", " ")} UTC)`,
  ];
  if (r.warnings.length) sections.push(["Warnings:", ...r.warnings.map((w) => `  ! ${w}`)].join("\n"));
  sections.push(
    keyValues([
      [
        "accounts now",
        Object.entries(r.funnel.accounts)
          .map(([t, n]) => `${t} ${formatNumber(n)}`)
          .join(", ") || "-",
      ],
      ["routed", formatNumber(r.claims.routed)],
      ["claimed", `${formatNumber(r.claims.claimed)} (${pct(r.claims.claimRate)})`],
      [
        "time to claim",
        `median ${minutes(r.claims.medianMinutesToClaim)}, p90 ${minutes(r.claims.p90MinutesToClaim)}`,
      ],
      ["converted", formatNumber(r.funnel.converted)],
      [
        "feedback",
        `${r.feedback.escalations} escalations; snoozed ${r.feedback.snoozes.reduce((s, f) => s + f.n, 0)}; not a fit ${r.feedback.notAFit.reduce((s, f) => s + f.n, 0)}` +
          (r.feedback.notAFit.length
            ? ` (${r.feedback.notAFit.map((f) => `${f.reason} ${f.n}`).join(", ")})`
            : ""),
      ],
    ]),
  );
  if (r.byPool.length)
    sections.push(
      table(
        ["pool", "routed", "claimed", "claim rate"],
        r.byPool.map((p) => [p.label, p.routed, p.claimed, pct(p.claimRate)]),
        { align: ["left", "right", "right", "right"] },
      ),
    );
  if (r.byRep.length)
    sections.push(
      table(
        ["rep", "assigned", "claimed", "claim rate", "median to claim", "converted", "revenue"],
        r.byRep.map((p) => [
          p.name,
          p.assigned,
          p.claimed,
          pct(p.claimRate),
          minutes(p.medianMinutesToClaim),
          p.converted,
          formatNumber(p.revenue),
        ]),
        { align: ["left", "right", "right", "right", "right", "right", "right"] },
      ),
    );
  sections.push(
    `Conversion by tier (${formatNumber(r.conversion.accounts)} accounts with a known outcome, base rate ${pct(r.conversion.baseRate)}):\n` +
      table(
        ["tier", "accounts", "converted", "rate", "lift"],
        r.conversion.tiers.map((t) => [
          t.tier,
          t.accounts,
          t.converted,
          pct(t.rate),
          r.conversion.baseRate > 0 && t.accounts > 0
            ? `${(t.rate / r.conversion.baseRate).toFixed(1)}x`
            : "-",
        ]),
        { align: ["left", "right", "right", "right", "right"] },
      ),
  );
  sections.push(
    r.unclaimed.length === 0
      ? "Unclaimed: none."
      : `Unclaimed, oldest first (${r.unclaimed.length}):\n` +
          table(
            ["account", "pool", "assigned to", "routed", "hours open"],
            r.unclaimed
              .slice(0, 20)
              .map((u) => [
                u.name ?? u.domain ?? u.accountId,
                u.pool,
                u.repId ?? "-",
                u.routedAt.slice(0, 16).replace("T", " "),
                u.hoursOpen,
              ]),
          ),
  );
  return sections.join("\n\n");
}
