import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "../../config/load-config.ts";
import { generateWorld } from "../../sample/generate-world.ts";
import { readOutcomesCsv } from "../../signals/outcomes-csv.ts";
import { mostActiveAccounts } from "../../store/account-activity.ts";
import { storeOutcomes } from "../../store/outcome-store.ts";
import { readStatus } from "../../store/status.ts";
import type { Command } from "../main.ts";
import { formatNumber, table } from "../output.ts";
import { importInto, renderImport } from "./import.ts";
import { renderStatus } from "./status.ts";

const DAY = 86_400_000;

export const demoCommand: Command = {
  usage: "demo [--accounts N]",
  summary: "what `npm start` runs: sample data into an empty database, then everything that exists so far",
  options: { accounts: { type: "string" } },
  async run(ctx, _positionals, values) {
    const accounts = values.accounts ? Number(values.accounts) : 400;
    const sections: string[] = [];
    const config = loadConfig(ctx.settings.configPath);
    sections.push(`config ${config.path}: valid, version ${config.version} (${config.config.product.name})`);

    const db = await ctx.openDatabase();
    try {
      const before = await readStatus(db);
      let imported: unknown = null;
      if (before.messages === 0) {
        // An hour-aligned end keeps the sample reproducible within the hour and recent enough to score.
        const end = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
        fs.mkdirSync(ctx.settings.dataDir, { recursive: true });
        const out = path.join(ctx.settings.dataDir, "sample-world.ndjson");
        const world = await generateWorld({ accounts, days: 30, seed: 42, end, out });
        sections.push(
          `empty database: generated a sample world of ${formatNumber(world.accounts)} accounts and ${formatNumber(world.messages)} messages (seed 42, 30 days to ${end.toISOString()})`,
        );
        const summary = await importInto(ctx, db, world.file);
        imported = summary;
        sections.push(renderImport(world.file, summary));
        const outcomes = await readOutcomesCsv(world.outcomesFile);
        await storeOutcomes(db, outcomes.rows, "sample");
      } else {
        sections.push(`database already holds ${formatNumber(before.messages)} messages: nothing imported`);
      }
      const status = await readStatus(db);
      sections.push(renderStatus(status));

      const until = status.lastEventAt ? new Date(status.lastEventAt) : new Date();
      const top = await mostActiveAccounts(db, new Date(until.getTime() - 30 * DAY), until, 10);
      sections.push(
        `Most active accounts, last 30 days to ${until.toISOString()}:\n${table(
          ["account", "name", "domain", "employees", "plan", "active users", "events", "last event"],
          top.map((a) => [
            a.accountId,
            a.name ?? "-",
            a.domain ?? "-",
            a.employees ?? "-",
            a.plan ?? "-",
            a.activeUsers,
            a.events,
            a.lastEventAt,
          ]),
          { align: ["left", "left", "left", "right", "left", "right", "right", "left"] },
        )}`,
      );
      return {
        json: { configVersion: config.version, imported, status, mostActive: top },
        text: sections.join("\n\n"),
      };
    } finally {
      await db.close();
    }
  },
};
