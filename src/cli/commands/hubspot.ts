import { loadConfig } from "../../config/load-config.ts";
import { UsageError } from "../../errors.ts";
import type { HubSpotHttp } from "../../integrations/hubspot/hubspot-http.ts";
import { syncOutcomes } from "../../integrations/hubspot/outcome-sync.ts";
import { setupProperties } from "../../integrations/hubspot/properties.ts";
import { connectHubSpot, previewHubSpot, syncHubSpot } from "../../integrations/hubspot/sync-hubspot.ts";
import type { Database } from "../../store/database.ts";
import type { CliContext, Command } from "../command.ts";
import { formatNumber, keyValues, table } from "../output.ts";

/** Runs `work` with a HubSpot client (token required), recording the calls it made against today's budget. */
async function withHubSpot<T>(
  ctx: CliContext,
  work: (db: Database, http: HubSpotHttp) => Promise<T>,
): Promise<T> {
  const token = ctx.settings.hubspotAccessToken;
  if (!token) {
    throw new UsageError(
      "HUBSPOT_ACCESS_TOKEN is not set",
      "create a HubSpot private app (README: Connecting HubSpot) and set its token; `pql-router hubspot preview` works without one",
    );
  }
  const db = await ctx.openDatabase();
  try {
    const { http, done } = await connectHubSpot(
      db,
      { accessToken: token, baseUrl: ctx.settings.hubspotBaseUrl, limits: ctx.settings.hubspotLimits },
      ctx.log,
    );
    try {
      return await work(db, http);
    } finally {
      await done();
    }
  } finally {
    await db.close();
  }
}

export const hubspotSetupCommand: Command = {
  usage: "hubspot setup",
  summary: "create the Product-qualified property group and properties in HubSpot (idempotent)",
  async run(ctx) {
    const report = await withHubSpot(ctx, (_db, http) => setupProperties(http));
    const lines = [
      report.created.length === 0
        ? "nothing to create: every group and property exists"
        : `created ${report.created.length}: ${report.created.map((c) => `${c.object}.${c.name}`).join(", ")}`,
      `already there: ${report.existing.length} properties`,
    ];
    if (report.conflicts.length > 0) {
      lines.push(
        "properties that exist with another type (left alone; rename or delete them in HubSpot):",
        table(
          ["object", "property", "expected", "found"],
          report.conflicts.map((c) => [c.object, c.name, c.expected, c.found]),
        ),
      );
    }
    return { json: report, text: lines.join("\n"), exitCode: report.conflicts.length > 0 ? 1 : 0 };
  },
};

export const hubspotSyncCommand: Command = {
  usage: "hubspot sync [--retry-rejected]",
  summary: "write changed scores and new tasks to HubSpot now (what is pending in the database)",
  options: { "retry-rejected": { type: "boolean" } },
  async run(ctx, _positionals, values) {
    const config = loadConfig(ctx.settings.configPath);
    const result = await withHubSpot(ctx, (db, http) =>
      syncHubSpot({
        db,
        http,
        config: config.config,
        now: new Date(),
        log: ctx.log,
        retryRejected: values["retry-rejected"] === true,
      }),
    );
    const lines = [
      keyValues([
        [
          "companies matched",
          `${formatNumber(result.companiesMatched)} (+${result.companiesCreated} created)`,
        ],
        ["companies written", formatNumber(result.companiesWritten)],
        ["companies unchanged", `${formatNumber(result.companiesUnchanged)} (no call)`],
        ["accounts unmatched", formatNumber(result.companiesUnmatched)],
        [
          "tasks created",
          `${formatNumber(result.tasksCreated)}` +
            (result.tasksRecovered > 0
              ? ` (+${result.tasksRecovered} found from an earlier unconfirmed run)`
              : "") +
            (result.tasksWaiting > 0 ? `; ${result.tasksWaiting} wait for their company` : "") +
            (result.tasksSkipped > 0 ? `; ${result.tasksSkipped} routings too old for a task` : ""),
        ],
        ["calls", `${result.calls} (${result.retries} retries, ${result.rateLimited} answered 429)`],
        [
          "failed records",
          `${formatNumber(result.failed)}${result.failed > 0 ? " (not sent again until their values change, or --retry-rejected)" : ""}`,
        ],
      ]),
    ];
    if (result.failures.length > 0) {
      lines.push(
        table(
          ["account", "what", "HubSpot said"],
          result.failures.slice(0, 20).map((f) => [f.accountId, f.what, f.reason.slice(0, 100)]),
        ),
      );
    }
    if (result.stoppedBy)
      lines.push(`stopped early: ${result.stoppedBy}\nthe rest stays queued for the next sync`);
    return { json: result, text: lines.join("\n"), exitCode: result.stoppedBy ? 1 : 0 };
  },
};

export const hubspotPreviewCommand: Command = {
  usage: "hubspot preview [--limit N]",
  summary: "show the exact requests a sync would send (no token needed, nothing is sent)",
  options: { limit: { type: "string" } },
  async run(ctx, _positionals, values) {
    const config = loadConfig(ctx.settings.configPath);
    const db = await ctx.openDatabase();
    try {
      const requests = await previewHubSpot(db, config.config);
      const limit = values.limit === undefined ? 3 : Number(values.limit);
      const text = [
        table(
          ["#", "request", "records", "purpose"],
          requests.map((r, i) => [i + 1, `${r.method} ${r.path}`, r.records, r.purpose]),
          { align: ["right", "left", "right", "left"] },
        ),
        ...requests
          .filter((r) => r.path.startsWith("/crm/v3/objects/") && !r.path.endsWith("/search"))
          .slice(0, limit)
          .map((r) => `${r.method} ${r.path}\n${JSON.stringify(firstInputs(r.body, 1), null, 2)}`),
        "(first record of the first requests; --json prints every request in full)",
      ].join("\n");
      return { json: { requests }, text };
    } finally {
      await db.close();
    }
  },
};

export const hubspotOutcomesCommand: Command = {
  usage: "hubspot outcomes",
  summary: "read closed-won deals (or a company property) back into outcomes, for evaluate",
  async run(ctx) {
    const config = loadConfig(ctx.settings.configPath);
    const result = await withHubSpot(ctx, (db, http) => syncOutcomes(db, http, config.config.hubspot));
    return {
      json: result,
      text: keyValues([
        ["matched companies read", formatNumber(result.companies)],
        ["converted", formatNumber(result.converted)],
        ["not converted", formatNumber(result.notConverted)],
      ]),
    };
  },
};

function firstInputs(body: unknown, n: number): unknown {
  const b = body as { inputs?: unknown[] };
  return Array.isArray(b.inputs) ? { ...b, inputs: b.inputs.slice(0, n) } : body;
}
