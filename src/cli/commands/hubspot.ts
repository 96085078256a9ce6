import { hubspotToken, withHubSpot } from "../../app/hubspot-connection.ts";
import { syncOutcomes } from "../../app/jobs/hubspot-outcomes.ts";
import { previewHubSpot } from "../../app/jobs/hubspot-preview.ts";
import { syncHubSpot } from "../../app/jobs/hubspot-sync.ts";
import { setupProperties } from "../../integrations/hubspot/property-setup.ts";
import type { Command } from "../command.ts";
import { formatNumber, keyValues, table } from "../output.ts";

export const hubspotSetupCommand: Command = {
  usage: "hubspot setup",
  summary: "create the Product-qualified property group and properties in HubSpot (idempotent)",
  async run(ctx) {
    hubspotToken(ctx.settings);
    const report = await withHubSpot(await ctx.runtime(), setupProperties);
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
    hubspotToken(ctx.settings);
    const rt = await ctx.runtime({ config: true });
    const result = await withHubSpot(rt, (http) =>
      syncHubSpot(rt, http, { retryRejected: values["retry-rejected"] === true }),
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
    if (result.tasksReassigned > 0)
      lines.push(`task owners changed to the rep who claimed: ${formatNumber(result.tasksReassigned)}`);
    if (result.stoppedBy)
      lines.push(`stopped early: ${result.stoppedBy}\nthe rest stays queued for the next sync`);
    if (result.skipped) return { json: result, text: result.skipped };
    return { json: result, text: lines.join("\n"), exitCode: result.stoppedBy ? 1 : 0 };
  },
};

export const hubspotPreviewCommand: Command = {
  usage: "hubspot preview [--limit N]",
  summary: "show the exact requests a sync would send (no token needed, nothing is sent)",
  options: { limit: { type: "string" } },
  async run(ctx, _positionals, values) {
    const rt = await ctx.runtime({ config: true });
    const requests = await previewHubSpot(rt);
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
  },
};

export const hubspotOutcomesCommand: Command = {
  usage: "hubspot outcomes",
  summary: "read closed-won deals (or a company property) back into outcomes, for evaluate",
  async run(ctx) {
    hubspotToken(ctx.settings);
    const rt = await ctx.runtime({ config: true });
    const result = await withHubSpot(rt, (http) => syncOutcomes(rt, http));
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
