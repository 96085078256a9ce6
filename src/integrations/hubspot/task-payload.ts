import type { HubSpotConfig } from "../../config/schema.ts";
import type { StoredCalibration } from "../../store/calibration-store.ts";
import type { PendingTask } from "../../store/hubspot-store.ts";
import { conversionText } from "../../tuning/probability.ts";
import { TASK_ROUTING_KEY } from "./property-definitions.ts";

/** Task -> company association (HUBSPOT_DEFINED). */
export const TASK_TO_COMPANY = 192;

/**
 * The routing key of a decision: unique per routing (account and decision time), stable across
 * reruns, and independent of our database's ids (a reset database never reuses one).
 */
export function routingKey(task: Pick<PendingTask, "accountId" | "decidedAt">): string {
  return `pqlr:${task.accountId}:${task.decidedAt.toISOString()}`;
}

/**
 * The batch-create input for a routed account's task. Pure. The body gives the calibrated
 * conversion probability beside the score when `calibration` (the current config's) is of the
 * config that made the score.
 */
export function taskInput(
  task: PendingTask,
  companyId: string,
  config: HubSpotConfig,
  ownerId: string | undefined,
  calibration: StoredCalibration | null,
): { properties: Record<string, string>; associations: unknown[]; objectWriteTraceId: string } {
  const probability =
    calibration !== null && calibration.configVersion === task.configVersion
      ? `, ${conversionText(calibration, task.score)}`
      : "";
  const money = `$${Math.round(task.pqr).toLocaleString("en-US")}`;
  const name = task.name ?? task.domain ?? task.accountId;
  const subject = config.tasks.subject.replace(
    /\{(name|domain|score|tier|pqr|pool)\}/g,
    (_, field: string) => {
      switch (field) {
        case "name":
          return name;
        case "domain":
          return task.domain ?? "";
        case "score":
          return String(Math.round(task.score));
        case "tier":
          return task.tier;
        case "pqr":
          return Math.round(task.pqr).toLocaleString("en-US");
        default:
          return task.pool;
      }
    },
  );
  const link = config.portalId
    ? `https://app.hubspot.com/contacts/${config.portalId}/company/${companyId}`
    : undefined;
  const body = [
    `<p><strong>${escapeHtml(name)}</strong>${task.domain ? ` (${escapeHtml(task.domain)})` : ""} is ${escapeHtml(task.tier)}: ` +
      `PQL score ${task.score.toFixed(1)}${escapeHtml(probability)}, PQR estimate ${money}${task.icp === null ? "" : `, ICP ${Math.round(task.icp)}`}.</p>`,
    `<ul>${task.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join("")}</ul>`,
    `<p>Routed to ${escapeHtml(task.pool)} at ${task.decidedAt.toISOString()} by pql-router.` +
      (link ? ` <a href="${link}">Open the company in HubSpot</a>` : ` HubSpot company ${companyId}.`) +
      "</p>",
  ].join("");
  const properties: Record<string, string> = {
    hs_task_subject: subject.slice(0, 255),
    hs_task_body: body,
    hs_timestamp: new Date(task.decidedAt.getTime() + config.tasks.dueInHours * 3_600_000).toISOString(),
    hs_task_priority: config.tasks.priority,
    hs_task_status: "NOT_STARTED",
    hs_task_type: config.tasks.type,
    [TASK_ROUTING_KEY]: routingKey(task),
  };
  if (ownerId) properties.hubspot_owner_id = ownerId;
  return {
    properties,
    // HubSpot names a failed create in a 207 by this: how each error finds its routing decision.
    objectWriteTraceId: routingKey(task),
    associations: [
      {
        to: { id: companyId },
        types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: TASK_TO_COMPANY }],
      },
    ],
  };
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] as string,
  );
}
