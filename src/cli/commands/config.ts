import fs from "node:fs";
import path from "node:path";
import { checkConfigFile, configJsonSchema } from "../../config/load-config.ts";
import type { Command } from "../command.ts";

export const configCheckCommand: Command = {
  usage: "config check [file]",
  summary: "validate the config file (default $PQL_CONFIG); list every problem; exit 1 on any",
  async run(ctx, positionals) {
    const file = path.resolve(positionals[0] ?? ctx.settings.configPath);
    const result = checkConfigFile(file);
    if (result.ok) {
      const c = result.config;
      return {
        json: { ok: true, file, version: result.version, problems: [] },
        text: [
          `${file}: valid`,
          `version ${result.version}: ${c.signals.length} signals, ${c.personas.length} personas, ${c.milestones.length} milestones, ` +
            `${c.routing.pools.length} pools, ${c.routing.reps.length} reps, ${c.routing.managers.length} manager${c.routing.managers.length === 1 ? "" : "s"}` +
            `${c.routing.sla ? `, SLA ${c.routing.sla.claimWithinHours} h` : ""}${c.slack.shadow ? `, shadow mode (${c.slack.shadow.channel})` : ""}; ` +
            `tiers hot >= ${c.tiers.hot}, warm >= ${c.tiers.warm}`,
        ].join("\n"),
      };
    }
    return {
      json: { ok: false, file, problems: result.problems },
      text: `${file}: ${result.problems.length} problem(s)\n  ${result.problems.join("\n  ")}`,
      exitCode: 1,
    };
  },
};

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
