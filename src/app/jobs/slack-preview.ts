import { alertMessage, type SlackMessage, textPreview } from "../../integrations/slack/blocks.ts";
import { alertView } from "../../integrations/slack/routing-views.ts";
import { latestCalibration } from "../../store/calibration-store.ts";
import { decisionsById } from "../../store/slack-store.ts";
import type { JobContext } from "../runtime.ts";
import { assignRoutings } from "./assign-routings.ts";

export interface SlackPreview {
  decisionId: string;
  accountId: string;
  message: SlackMessage;
  /** The message as text, for a terminal. */
  text: string;
  /** Paste into Block Kit Builder (https://app.slack.com/block-kit-builder). */
  builder: { blocks: SlackMessage["blocks"] };
}

/**
 * The Slack alert of the newest open routing, exactly as `slack post` would build it (routings
 * are assigned first, as posting would): nothing is sent. null when nothing is routed.
 */
export async function previewSlack(rt: JobContext): Promise<SlackPreview | null> {
  const now = new Date(rt.clock.now());
  await assignRoutings(rt, now);
  const { rows } = await rt.db.sql.query<{ id: string }>(
    "SELECT id::text FROM routing_decisions WHERE status = 'open' ORDER BY decided_at DESC, id DESC LIMIT 1",
  );
  if (!rows[0]) return null;
  const [row] = await decisionsById(rt.db, [BigInt(rows[0].id)]);
  if (!row) return null;
  const calibration = await latestCalibration(rt.db, rt.config.version);
  const message = alertMessage(alertView(row, rt.config.config, calibration));
  return {
    decisionId: String(row.id),
    accountId: row.accountId,
    message,
    text: textPreview(
      message,
      new Map(
        [...rt.config.config.routing.reps, ...rt.config.config.routing.managers].flatMap((p) =>
          p.slackUserId ? [[p.slackUserId, p.name] as const] : [],
        ),
      ),
    ),
    builder: { blocks: message.blocks },
  };
}
