import { checkConfigFile } from "../../config/load-config.ts";
import { readStatus } from "../../store/status.ts";
import type { Command } from "../command.ts";
import { formatNumber, keyValues } from "../output.ts";

export const statusCommand: Command = {
  usage: "status",
  summary:
    "what is stored: where signals come from, messages by type, accounts, users, first and last event, routings, HubSpot sync and Slack state",
  async run(ctx) {
    const { db } = await ctx.runtime();
    const status = await readStatus(db);
    const source = sourceOf(ctx.settings.configPath);
    const line =
      source === null
        ? "unknown (the config file is missing or invalid: pql-router config check)"
        : source.type === "builtin"
          ? "builtin: the messages above"
          : `${source.type} warehouse, ${source.type === "postgres" ? "schema" : "database"} ${source.database} (PQL_SOURCE_URL): scoring reads its events, not the messages above; pql-router config check --source shows them`;
    return {
      json: { ...status, source },
      text: `${keyValues([["signals from", line]])}\n${renderStatus(status)}`,
    };
  },
};

/** Where the config (if valid) reads signals: `source:`, builtin when absent; null without a valid config. */
function sourceOf(configPath: string): { type: string; database?: string } | null {
  const check = checkConfigFile(configPath);
  if (!check.ok) return null;
  const source = check.config.source;
  if (!source || source.type === "builtin") return { type: "builtin" };
  return { type: source.type, database: source.database };
}

export function renderStatus(s: Awaited<ReturnType<typeof readStatus>>): string {
  const types = Object.entries(s.messagesByType)
    .map(([type, n]) => `${type} ${formatNumber(n)}`)
    .join(", ");
  return keyValues([
    ["database", `${s.engine} (${s.location})`],
    ["messages", `${formatNumber(s.messages)}${types ? ` (${types})` : ""}`],
    ["accounts", formatNumber(s.accounts)],
    ["users", formatNumber(s.users)],
    ["first event", s.firstEventAt ?? "-"],
    ["last event", s.lastEventAt ?? "-"],
    ...(s.prunedBefore
      ? [["pruned before", `${s.prunedBefore} (first and last times kept)`] as [string, string]]
      : []),
    ["without account", formatNumber(s.messagesWithoutAccount)],
    [
      "calibrated",
      s.lastCalibration
        ? `${s.lastCalibration.at} for config ${s.lastCalibration.configVersion} (${s.lastCalibration.horizonDays}-day horizon)`
        : "never (pql-router calibrate)",
    ],
    ["outcomes", formatNumber(s.outcomes)],
    ["routed to sales", formatNumber(s.routed)],
    [
      "HubSpot",
      `${formatNumber(s.hubspot.companiesMatched)} companies matched; tasks ${formatNumber(s.hubspot.tasksCreated)} created, ` +
        `${formatNumber(s.hubspot.tasksPending)} pending, ${formatNumber(s.hubspot.tasksFailed)} rejected; last sync ` +
        (s.hubspot.lastSyncAt ? `${s.hubspot.lastSyncAt} (${s.hubspot.lastSyncStatus})` : "never"),
    ],
    [
      "Slack",
      `${formatNumber(s.slack.posted)} posted, ${formatNumber(s.slack.pending)} pending; ${formatNumber(s.slack.claimed)} claimed, ` +
        `${formatNumber(s.slack.snoozed)} snoozed, ${formatNumber(s.slack.notAFit)} not a fit, ${formatNumber(s.slack.escalated)} escalations; last post ` +
        (s.slack.lastPostAt ? `${s.slack.lastPostAt} (${s.slack.lastPostStatus})` : "never"),
    ],
  ]);
}
