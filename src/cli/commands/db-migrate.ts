import { migrate } from "../../store/migrate.ts";
import type { Command } from "../command.ts";

export const dbMigrateCommand: Command = {
  usage: "db migrate",
  summary: "apply pending database migrations (also done automatically at start)",
  async run(ctx) {
    const { db } = await ctx.runtime({ migrate: false });
    const result = await migrate(db);
    return {
      json: { engine: db.engine, location: db.location, ...result },
      text:
        result.applied.length > 0
          ? `${db.location}: applied ${result.applied.join(", ")} (${result.alreadyApplied} already applied)`
          : `${db.location}: up to date (${result.alreadyApplied} migrations applied)`,
    };
  },
};
