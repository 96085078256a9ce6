import { postToSlack } from "../../app/jobs/slack-post.ts";
import { slackApiFor } from "../../app/slack-app.ts";
import { UsageError } from "../../errors.ts";
import { slackManifest } from "../../integrations/slack/manifest.ts";
import type { Command } from "../command.ts";
import { formatNumber, keyValues, table } from "../output.ts";
import { createProgress } from "../progress.ts";

export const slackPostCommand: Command = {
  usage: "slack post",
  summary:
    "post what is due to Slack: new routings, SLA escalations, ended snoozes, digests, and messages whose state changed",
  async run(ctx) {
    if (!ctx.settings.slackBotToken) {
      throw new UsageError(
        "SLACK_BOT_TOKEN is not set",
        "create the app from `pql-router slack manifest`, install it, and set SLACK_BOT_TOKEN to its xoxb- token",
      );
    }
    const rt = await ctx.runtime({ config: true });
    const slack = slackApiFor(ctx.settings, ctx.log);
    if (!slack) throw new UsageError("SLACK_BOT_TOKEN is not set");
    const progress = createProgress("posting", ctx.stderr, " messages");
    let result: Awaited<ReturnType<typeof postToSlack>>;
    try {
      result = await postToSlack(rt, slack, {
        postIntervalMs: ctx.settings.slackPostIntervalMs,
        onProgress: (done, total) => progress.update(done, total),
      });
    } finally {
      progress.stop();
    }
    const lines = [
      keyValues([
        [
          "assigned",
          `${formatNumber(result.assigned)} routings (${formatNumber(result.unassigned)} with nobody eligible)`,
        ],
        [
          "posted",
          formatNumber(result.posted) +
            (result.recovered ? ` (+${result.recovered} found from an interrupted run)` : ""),
        ],
        ["updated", formatNumber(result.updated)],
        ["escalated", formatNumber(result.escalated)],
        ["snoozes ended", formatNumber(result.resurfaced)],
        ["pending", formatNumber(result.pending)],
        ["rate-limited", `${formatNumber(result.rateLimited)} (429 answers)`],
        ["failed", formatNumber(result.failed)],
      ]),
    ];
    if (result.failures.length > 0)
      lines.push(
        table(
          ["message", "Slack said"],
          result.failures.slice(0, 20).map((f) => [f.key, f.reason.slice(0, 100)]),
        ),
      );
    if (result.stoppedBy)
      lines.push(`stopped early: ${result.stoppedBy}\nthe rest stays pending for the next run`);
    return {
      json: {
        posted: result.posted,
        updated: result.updated,
        escalated: result.escalated,
        pending: result.pending,
        rateLimited: result.rateLimited,
        failed: result.failed,
        recovered: result.recovered,
        resurfaced: result.resurfaced,
        assigned: result.assigned,
        unassigned: result.unassigned,
        failures: result.failures,
        stoppedBy: result.stoppedBy,
        durationMs: result.durationMs,
      },
      text: lines.join("\n"),
      exitCode: result.stoppedBy ? 1 : 0,
    };
  },
};

export const slackManifestCommand: Command = {
  usage: "slack manifest [--url https://host]",
  summary: "print the Slack app manifest (scopes, interactivity URL, /pql command) to create the app from",
  options: { url: { type: "string" } },
  async run(ctx, _positionals, values) {
    const url = typeof values.url === "string" ? values.url : ctx.settings.publicUrl;
    if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url))
      throw new UsageError(
        `--url: expected an http(s) URL where Slack reaches \`serve\`, got ${JSON.stringify(url)}`,
      );
    const manifest = slackManifest({
      publicUrl: url ?? null,
      socketMode: ctx.settings.slackAppToken !== undefined,
    });
    const text = [
      JSON.stringify(manifest, null, 2),
      "",
      "Create the app at https://api.slack.com/apps -> Create New App -> From a manifest, paste the JSON above,",
      "install it to your workspace, then set SLACK_BOT_TOKEN (xoxb-...) and SLACK_SIGNING_SECRET",
      url
        ? ""
        : "(no --url or PQL_PUBLIC_URL: replace https://pql-router.example.com with where Slack reaches `serve`)",
    ]
      .filter((l) => l !== "")
      .join("\n");
    return { json: manifest, text };
  },
};
