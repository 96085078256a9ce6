import fs from "node:fs";
import path from "node:path";
import { configWarnings } from "../../config/config-warnings.ts";
import { checkConfigFile, configJsonSchema } from "../../config/load-config.ts";
import type { PqlConfig } from "../../config/schema.ts";
import { checkSource, type SourceCheck } from "../../sources/warehouse-source.ts";
import { type SignalCoverage, signalCoverage } from "../../store/signal-coverage.ts";
import { counted } from "../../text.ts";
import type { Command } from "../command.ts";
import { formatNumber, table } from "../output.ts";

export const configCheckCommand: Command = {
  usage: "config check [file] [--against-data] [--source]",
  summary:
    "validate the config file (default $PQL_CONFIG); list every problem (exit 1) and warning; --against-data: signals no stored event matches; --source: connect to the warehouse of `source:` and check every mapped table and column",
  options: { "against-data": { type: "boolean" }, source: { type: "boolean" } },
  async run(ctx, positionals, values) {
    const file = path.resolve(positionals[0] ?? ctx.settings.configPath);
    const result = checkConfigFile(file);
    if (result.ok) {
      const c = result.config;
      const warnings = configWarnings(c);
      let coverage: SignalCoverage | null = null;
      if (values["against-data"] === true && c.source && c.source.type !== "builtin") {
        warnings.push(
          "--against-data counts the builtin store's messages; this config reads a warehouse (source:): use --source",
        );
      } else if (values["against-data"] === true) {
        const rt = await ctx.runtime();
        coverage = await signalCoverage(rt.db, c);
        for (const s of c.signals) {
          if ((coverage.matched[s.key] ?? 0) === 0)
            warnings.push(
              `signal ${s.key} matches no stored event: check its match (${describeMatch(s.match)})`,
            );
        }
      }
      let source: SourceCheck | null = null;
      if (values.source === true) {
        const s = c.source;
        if (!s || s.type === "builtin")
          warnings.push("--source: the config reads the builtin store (no `source:` warehouse to check)");
        else source = await checkSource(s, ctx.settings.sourceUrl);
      }
      const sourceFailed = source !== null && source.problems.length > 0;
      const lines = [
        `${file}: valid`,
        `version ${result.version}: ${c.signals.length} signals, ${c.personas.length} personas, ${c.milestones.length} milestones, ` +
          `${c.routing.pools.length} pools, ${c.routing.reps.length} reps, ${counted(c.routing.managers.length, "manager")}` +
          `${c.routing.sla ? `, SLA ${c.routing.sla.claimWithinHours} h` : ""}${c.slack.shadow ? `, shadow mode (${c.slack.shadow.channel})` : ""}; ` +
          `tiers hot >= ${c.tiers.hot}, warm >= ${c.tiers.warm}`,
        ...warnings.map((w) => `warning: ${w}`),
      ];
      if (coverage) {
        lines.push(
          "",
          table(
            ["signal", "messages matched"],
            c.signals.map((s) => [s.key, formatNumber(coverage.matched[s.key] ?? 0)]),
            { align: ["left", "right"] },
          ),
        );
        if (coverage.unmatched.length > 0)
          lines.push(
            "",
            "Most frequent events no signal matches:",
            ...coverage.unmatched.map(
              (u) => `  ${u.type} ${JSON.stringify(u.event)}: ${formatNumber(u.messages)}`,
            ),
          );
      }
      if (source) {
        lines.push(
          "",
          `Source: ${source.type}, ${source.type === "postgres" ? "schema" : "database"} ${source.database}` +
            (sourceFailed
              ? `: ${counted(source.problems.length, "problem")}`
              : ": every mapped table and column is there"),
          ...source.problems.map((p) => `  ${p}`),
        );
        if (source.tables.length > 0)
          lines.push(
            table(
              ["table", "rows", "from", "to"],
              source.tables.map((t) => [t.table, formatNumber(t.rows), t.from ?? "-", t.to ?? "-"]),
              { align: ["left", "right", "left", "left"] },
            ),
          );
      }
      return {
        json: {
          ok: !sourceFailed,
          file,
          version: result.version,
          problems: sourceFailed ? (source?.problems ?? []) : [],
          warnings,
          ...(coverage ? { coverage } : {}),
          ...(source ? { source } : {}),
        },
        text: lines.join("\n"),
        ...(sourceFailed ? { exitCode: 1 } : {}),
      };
    }
    return {
      json: { ok: false, file, problems: result.problems, warnings: [] },
      text: `${file}: ${result.problems.length} problem(s)\n  ${result.problems.join("\n  ")}`,
      exitCode: 1,
    };
  },
};

function describeMatch(match: PqlConfig["signals"][number]["match"]): string {
  const parts = [
    match.events?.length ? `events ${match.events.map((e) => JSON.stringify(e)).join(", ")}` : null,
    match.screens?.length ? `screens ${match.screens.map((e) => JSON.stringify(e)).join(", ")}` : null,
    match.pages?.length ? `pages ${match.pages.map((e) => JSON.stringify(e)).join(", ")}` : null,
  ].filter((p) => p !== null);
  return parts.join("; ") || "nothing";
}

export const configSchemaCommand: Command = {
  usage: "config schema [--out FILE]",
  summary: "print (or write) the JSON Schema of the config file, for editors",
  options: { out: { type: "string" } },
  async run(_ctx, _positionals, values) {
    const schema = configJsonSchema();
    const text = `${JSON.stringify(schema, null, 2)}\n`;
    if (typeof values.out === "string") {
      fs.writeFileSync(values.out, text);
      return { json: { written: values.out }, text: `wrote ${values.out}` };
    }
    return { json: schema, text: text.trimEnd() };
  },
};
