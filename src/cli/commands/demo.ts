import fs from "node:fs";
import path from "node:path";
import { runCycle } from "../../app/jobs/cycle.ts";
import { previewHubSpot } from "../../app/jobs/hubspot-preview.ts";
import { claimRouting, dismissRouting, snoozeRouting } from "../../app/jobs/slack-actions.ts";
import { previewSlack } from "../../app/jobs/slack-preview.ts";
import type { JobContext } from "../../app/runtime.ts";
import { buildReport } from "../../reporting/manager-report.ts";
import { reportHtml } from "../../reporting/report-html.ts";
import { generateWorld } from "../../sample/generate-world.ts";
import { readOutcomesCsv } from "../../signals/outcomes-csv.ts";
import { storeOutcomes } from "../../store/outcome-store.ts";
import { readReportData } from "../../store/report-store.ts";
import { rankedAccounts } from "../../store/score-store.ts";
import { readStatus } from "../../store/status.ts";
import { type Command, intOption } from "../command.ts";
import { formatNumber } from "../output.ts";
import { renderCycle } from "./cycle.ts";
import { importInto, renderImport } from "./import.ts";
import { renderReport } from "./report.ts";
import { scorePass } from "./score.ts";
import { renderStatus } from "./status.ts";

export const demoCommand: Command = {
  usage: "demo [--accounts N]",
  summary:
    "what `npm start` runs: sample data into an empty database, a scoring pass, the hot accounts and why",
  options: { accounts: { type: "string" } },
  async run(ctx, _positionals, values) {
    const accounts = intOption(values, "accounts", 400, 1);
    const sections: string[] = [];
    const rt = await ctx.runtime({ config: true });
    const { db, config } = rt;
    sections.push(`config ${config.path}: valid, version ${config.version} (${config.config.product.name})`);

    const before = await readStatus(db);
    let imported: unknown = null;
    if (before.messages === 0) {
      // An hour-aligned end keeps the sample reproducible within the hour and recent enough to score.
      const end = new Date(Math.floor(rt.clock.now() / 3_600_000) * 3_600_000);
      fs.mkdirSync(ctx.settings.dataDir, { recursive: true });
      const out = path.join(ctx.settings.dataDir, "sample-world.ndjson");
      const world = await generateWorld({ accounts, days: 30, seed: 42, end, out });
      sections.push(
        `empty database: generated a sample world of ${formatNumber(world.accounts)} accounts and ${formatNumber(world.messages)} messages (seed 42, 30 days to ${end.toISOString()})`,
      );
      const summary = await importInto(ctx, rt, world.file);
      imported = summary;
      sections.push(renderImport(world.file, summary));
      const outcomes = await readOutcomesCsv(world.outcomesFile);
      await storeOutcomes(db, outcomes.rows, "sample");
    } else {
      sections.push(`database already holds ${formatNumber(before.messages)} messages: nothing imported`);
    }
    const status = await readStatus(db);
    sections.push(renderStatus(status));

    const now = new Date(rt.clock.now());
    const pass = await scorePass(ctx, rt, { now, route: true });
    const hot = (await rankedAccounts(db, now)).filter((a) => a.tier === "hot").slice(0, 10);
    const money = (n: number) => `$${Math.round(n).toLocaleString("en-US")}`;
    sections.push(
      `Scored ${formatNumber(pass.scored)} of ${formatNumber(pass.accounts)} accounts (${pass.mode} pass): ` +
        `${pass.tiers.hot} hot, ${pass.tiers.warm} warm, ${pass.tiers.cold} cold.`,
    );
    const listing = hot.map(
      (a, i) =>
        `${i + 1}. ${a.name ?? a.accountId} (${a.domain ?? a.accountId}): score ${a.score.toFixed(1)}, PQR ${money(a.pqr)}\n` +
        a.reasons
          .slice(0, 4)
          .map((r) => `     - ${r}`)
          .join("\n"),
    );
    sections.push(
      hot.length === 0
        ? "No hot accounts right now."
        : `Hot accounts, best first, and why:\n${listing.join("\n")}`,
    );
    // HubSpot: the demo never writes its sample accounts to a real portal; it shows what a sync would send.
    const requests = await previewHubSpot(rt);
    const task = requests.find((r) => r.path === "/crm/v3/objects/tasks/batch/create");
    const update = requests.find((r) => r.path === "/crm/v3/objects/companies/batch/update");
    const count = (path: string) =>
      requests.filter((r) => r.path === path).reduce((n, r) => n + r.records, 0);
    sections.push(
      [
        `HubSpot (${ctx.settings.hubspotAccessToken ? "token set: `npx pql-router hubspot sync` sends this" : "no HUBSPOT_ACCESS_TOKEN: nothing sent"}): ` +
          `a sync would make ${requests.length} requests: look up ${count("/crm/v3/objects/companies/search")} domains, ` +
          `create ${count("/crm/v3/objects/companies/batch/upsert")} companies, write scores to ${count("/crm/v3/objects/companies/batch/update")} already-matched companies ` +
          `and ${count("/crm/v3/objects/tasks/batch/create")} tasks. The first task, exactly as it would be sent:`,
        JSON.stringify(firstInput(task ?? update), null, 2),
        "`npx pql-router hubspot preview --json` prints every request.",
      ].join("\n"),
    );
    // Slack: the demo never posts; it shows the alert the top routing would get, and writes its Block Kit.
    const slack = await previewSlack(rt);
    let slackPreviewFile: string | null = null;
    if (slack) {
      fs.mkdirSync(ctx.settings.dataDir, { recursive: true });
      slackPreviewFile = path.join(ctx.settings.dataDir, "slack-preview.json");
      fs.writeFileSync(slackPreviewFile, `${JSON.stringify(slack.builder, null, 2)}\n`);
      sections.push(
        [
          `Slack (${ctx.settings.slackBotToken ? "token set: `npx pql-router slack post` posts what is due" : "no SLACK_BOT_TOKEN: nothing posted"}): ` +
            "the newest routing's alert, as reps would see it:",
          indent(slack.text),
          `Block Kit JSON: ${slackPreviewFile} (paste it into https://app.slack.com/block-kit-builder)`,
        ].join("\n"),
      );
    } else sections.push("Slack: nothing routed, so nothing to post.");
    // The scheduled cycle, as the worker runs it (HubSpot and Slack stages need their tokens).
    const cycle = await runCycle(rt);
    sections.push(`The scheduled cycle, as \`pql-router worker\` runs it:\n${renderCycle(cycle)}`);
    // Sample reps act on the sample routings (once, on a new sample), so the report has claims.
    const clicks = imported ? await simulateClicks(rt) : null;
    if (clicks)
      sections.push(
        `Simulated Slack clicks by the sample reps: ${clicks.claimed} claimed, ${clicks.snoozed} snoozed, ${clicks.notAFit} marked not a fit.`,
      );
    const reportNow = new Date(rt.clock.now());
    const since = new Date(reportNow.getTime() - 30 * 86_400_000);
    const report = buildReport(await readReportData(db, since, config.version), config.config, {
      since,
      now: reportNow,
    });
    const htmlFile = path.join(ctx.settings.dataDir, "report.html");
    fs.writeFileSync(htmlFile, await reportHtml(report));
    sections.push(
      `${renderReport(report)}\n\nThe same report with charts: ${htmlFile} (open it in a browser)`,
    );
    sections.push(
      "Next: `npx pql-router explain <domain>` breaks one account down; `npx pql-router score` ranks them all; " +
        "`npx pql-router routing explain <domain>` shows who got a routed account and why; `npx pql-router report` is the manager report.",
    );
    return {
      json: {
        configVersion: config.version,
        imported,
        status,
        score: pass,
        hot,
        hubspotRequests: requests.length,
        cycle,
        clicks,
        report,
        slackPreview: slack
          ? { decisionId: slack.decisionId, accountId: slack.accountId, file: slackPreviewFile }
          : null,
      },
      text: sections.join("\n\n"),
    };
  },
};

function firstInput(request: { path: string; body: unknown } | undefined): unknown {
  if (!request) return "(nothing to send)";
  const inputs = (request.body as { inputs?: unknown[] }).inputs;
  return { request: `POST ${request.path}`, input: inputs?.[0] };
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  | ${line}`)
    .join("\n");
}

/**
 * The sample reps at work, deterministically: of the open, assigned routings, most are claimed by
 * their rep (up to a few hours after routing, never later than now), one in eight is snoozed, one in eight is
 * marked not a fit. Through the same jobs as real clicks.
 */
async function simulateClicks(
  rt: JobContext,
): Promise<{ claimed: number; snoozed: number; notAFit: number }> {
  const config = rt.config.config;
  const slackOf = new Map(
    config.routing.reps.flatMap((r) => (r.slackUserId ? [[r.id, r.slackUserId] as const] : [])),
  );
  const { rows } = await rt.db.sql.query<{ id: string; rep_id: string | null; decided_at: Date }>(
    "SELECT id::text, rep_id, decided_at FROM routing_decisions WHERE status = 'open' AND rep_id IS NOT NULL ORDER BY id",
  );
  const done = { claimed: 0, snoozed: 0, notAFit: 0 };
  for (const [i, r] of rows.entries()) {
    const user = r.rep_id ? slackOf.get(r.rep_id) : undefined;
    if (!user) continue;
    const id = BigInt(r.id);
    // Minutes after routing, spread from 4 minutes to about 6 hours, but never in the future.
    const at = Math.min(new Date(r.decided_at).getTime() + (((i * 37) % 360) + 4) * 60_000, rt.clock.now());
    const ctx: JobContext = { ...rt, clock: { now: () => at, sleep: rt.clock.sleep } };
    if (i % 8 === 3) {
      if (
        (
          await snoozeRouting(
            ctx,
            id,
            { slackUserId: user },
            { until: new Date(at + 3 * 86_400_000), option: "3d" },
          )
        ).kind === "done"
      )
        done.snoozed++;
    } else if (i % 8 === 5) {
      if ((await dismissRouting(ctx, id, { slackUserId: user }, "existing-customer")).kind === "done")
        done.notAFit++;
    } else if ((await claimRouting(ctx, id, { slackUserId: user })).kind === "done") done.claimed++;
  }
  return done;
}
