import { App, HTTPReceiver, LogLevel, SocketModeReceiver } from "@slack/bolt";
import type { Logger } from "pino";
import type { Settings } from "../config/settings.ts";
import type { HttpHost } from "../http/http-host.ts";
import {
  ACTIONS,
  accountSummary,
  claimedElsewhereText,
  NOT_A_FIT_REASONS,
  notAllowedText,
  parseOptionValue,
  SNOOZE_OPTIONS,
  slackTime,
} from "../integrations/slack/blocks.ts";
import {
  alertState,
  alertView,
  hubspotCompanyUrl,
  members,
  probabilityOf,
} from "../integrations/slack/routing-views.ts";
import { createSlackApi, type SlackApi, slackLogger } from "../integrations/slack/slack-api.ts";
import { latestCalibration } from "../store/calibration-store.ts";
import { syncPeople } from "../store/routing-store.ts";
import { findAccountId } from "../store/score-store.ts";
import { decisionsOfAccount } from "../store/slack-store.ts";
import { type ActionOutcome, claimRouting, dismissRouting, snoozeRouting } from "./jobs/slack-actions.ts";
import { replaceMessage } from "./jobs/slack-post.ts";
import type { Metrics } from "./metrics.ts";
import type { JobContext } from "./runtime.ts";

export interface SlackAppHandle {
  /** Socket Mode: the connection to Slack (HTTP mode: routes on the host, nothing to stop). */
  stop(): Promise<void>;
  mode: "http" | "socket";
}

/** The bot token, or null when Slack is not connected. */
export function slackApiFor(
  settings: Settings,
  log: Logger,
  metrics?: Pick<Metrics, "slackCall">,
): SlackApi | null {
  if (!settings.slackBotToken) return null;
  return createSlackApi({
    token: settings.slackBotToken,
    apiUrl: settings.slackApiUrl,
    log,
    ...(metrics ? { onCall: (method, outcome) => metrics.slackCall(method, outcome) } : {}),
  });
}

/**
 * The Slack side of `serve`: Bolt handles interactivity and the `/pql` command, either at
 * `POST /slack/events` on the process's HTTP host (request signatures checked by Bolt: a bad
 * signature or a timestamp over 5 minutes old gets 401) or, with SLACK_APP_TOKEN, over Socket
 * Mode. Every handler acks first (Slack's 3 seconds), then works; state changes go through the
 * jobs, whose conditional updates make retries and double clicks change state once.
 */
export async function mountSlackApp(
  rt: JobContext & { settings: Settings; http: HttpHost; metrics?: Metrics },
): Promise<SlackAppHandle> {
  const { settings, log } = rt;
  const slack = slackApiFor(settings, log, rt.metrics);
  if (!slack || !settings.slackBotToken)
    throw new Error("SLACK_BOT_TOKEN is required with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN");
  // Claims reference people by id: mirror the config's reps and managers up front (and again
  // with each Slack job, so a reloaded config's new people are there too).
  await rt.db.transaction((tx) => syncPeople(tx, rt.config.config));
  const logger = slackLogger(log);
  const clientOptions = { slackApiUrl: settings.slackApiUrl };
  let app: App;
  let mode: SlackAppHandle["mode"];
  if (settings.slackAppToken) {
    const receiver = new SocketModeReceiver({ appToken: settings.slackAppToken, logger });
    app = new App({
      token: settings.slackBotToken,
      receiver,
      tokenVerificationEnabled: false,
      logger,
      clientOptions,
    });
    mode = "socket";
  } else {
    const receiver = new HTTPReceiver({
      signingSecret: settings.slackSigningSecret ?? "",
      endpoints: "/slack/events",
      processBeforeResponse: false,
      logger,
      logLevel: LogLevel.WARN,
    });
    app = new App({
      token: settings.slackBotToken,
      receiver,
      tokenVerificationEnabled: false,
      logger,
      clientOptions,
    });
    rt.http.route("POST", "/slack/events", (req, res) => {
      receiver.requestListener(req, res);
    });
    mode = "http";
  }
  app.error(async (error) => {
    log.error({ err: error.message, code: (error as { code?: string }).code }, "Slack handler failed");
  });

  const ephemeral = async (channelId: string | undefined, user: string, text: string) => {
    if (!channelId) return;
    await slack.postEphemeral({ channelId, user, text }).catch((error: Error) => {
      log.warn({ err: error.message }, "could not send an ephemeral message");
    });
  };

  /** After a change: replace the message for everyone; else tell the clicker why nothing changed. */
  const answer = async (
    outcome: ActionOutcome,
    channelId: string | undefined,
    user: string,
    verb: string,
  ) => {
    if (outcome.kind === "done") {
      // The current calibration, so the replaced message keeps the probability beside the score.
      await latestCalibration(rt.db, rt.config.version)
        .then((calibration) => replaceMessage(rt, slack, outcome.decisionId, calibration))
        .catch((error: Error) => {
          log.warn(
            { err: error.message, decision: String(outcome.decisionId) },
            "message not replaced yet; the next Slack job retries",
          );
        });
      return;
    }
    if (outcome.kind === "not-found") return ephemeral(channelId, user, "This routing no longer exists.");
    if (outcome.kind === "not-allowed") {
      const pool = rt.config.config.routing.pools.find((p) => p.key === outcome.pool);
      return ephemeral(channelId, user, notAllowedText(pool?.label ?? outcome.pool));
    }
    const row = outcome.row;
    const state = alertState(row, members(rt.config.config));
    if (state.kind === "claimed") {
      if (state.by.slackUserId === user) return; // a double click or a retry of the winner's click
      return ephemeral(channelId, user, claimedElsewhereText(state.by, state.at, row.decidedAt));
    }
    if (state.kind === "snoozed" && row.action?.slackUserId === user && verb === "snooze") return;
    if (state.kind === "not-a-fit" && row.action?.slackUserId === user && verb === "dismiss") return;
    const what =
      state.kind === "snoozed"
        ? `snoozed by ${state.by.name} until ${slackTime(state.until, "date")}`
        : state.kind === "not-a-fit"
          ? `marked not a fit by ${state.by.name}`
          : "out of date: the account was routed again since";
    return ephemeral(channelId, user, `Nothing changed: this account is ${what}.`);
  };

  /**
   * A click's work starts after its ack has gone out and requests already waiting have reached
   * theirs (in a burst, acks first). Not a queue: a slow Slack must never hold up other claims.
   */
  const afterAck = async <T>(work: () => Promise<T>): Promise<T> => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return work();
  };

  const decisionOf = (value: string | undefined): bigint | null =>
    value && /^\d{1,18}$/.test(value) ? BigInt(value) : null;

  /** A menu's choice: the routing it is for, the option picked, and the channel clicked in. */
  const selected = (action: unknown, body: unknown) => {
    const picked = parseOptionValue(
      (action as { selected_option?: { value?: string } }).selected_option?.value ?? "",
    );
    return {
      id: decisionOf(picked?.decisionId),
      choice: picked?.option,
      channelId: (body as { channel?: { id?: string } }).channel?.id,
    };
  };

  app.action(ACTIONS.claim, async ({ ack, body, action }) => {
    await ack();
    const id = decisionOf((action as { value?: string }).value);
    const channelId = (body as { channel?: { id?: string } }).channel?.id;
    if (id === null) return;
    await afterAck(async () => {
      const outcome = await claimRouting(rt, id, { slackUserId: body.user.id });
      await answer(outcome, channelId, body.user.id, "claim");
    });
  });

  app.action(ACTIONS.snooze, async ({ ack, body, action }) => {
    await ack();
    const { id, choice, channelId } = selected(action, body);
    const option = SNOOZE_OPTIONS.find((o) => o.value === choice);
    if (id === null || !option) return;
    await afterAck(async () => {
      const until = new Date(rt.clock.now() + option.days * 86_400_000);
      const snooze = { until, option: option.value };
      const outcome = await snoozeRouting(rt, id, { slackUserId: body.user.id }, snooze);
      await answer(outcome, channelId, body.user.id, "snooze");
    });
  });

  app.action(ACTIONS.notAFit, async ({ ack, body, action }) => {
    await ack();
    const { id, choice, channelId } = selected(action, body);
    const reason = NOT_A_FIT_REASONS.find((r) => r.value === choice);
    if (id === null || !reason) return;
    await afterAck(async () => {
      const outcome = await dismissRouting(rt, id, { slackUserId: body.user.id }, reason.value);
      await answer(outcome, channelId, body.user.id, "dismiss");
    });
  });

  // Acked at once (empty: Slack shows nothing), then answered privately through the response URL.
  app.command("/pql", async ({ ack, command, respond }) => {
    await ack();
    const key = command.text.trim();
    if (!key) {
      await respond({ response_type: "ephemeral", text: "Usage: /pql <domain | name | account id>" });
      return;
    }
    const accountId = await findAccountId(rt.db, key);
    const [latest] = accountId ? await decisionsOfAccount(rt.db, accountId) : [];
    if (!accountId || !latest) {
      const summary = accountId ? await unroutedSummary(rt, accountId) : null;
      await respond(
        summary ?? {
          response_type: "ephemeral",
          text: `No account matches "${key.replace(/[&<>]/g, "")}" (try its domain or id).`,
        },
      );
      return;
    }
    const config = rt.config.config;
    const view = alertView(latest, config, await latestCalibration(rt.db, rt.config.version));
    const owner = latest.repId ? (members(config).get(latest.repId)?.name ?? latest.repId) : null;
    const message = accountSummary({ ...view, decisionId: view.decisionId, owner });
    await respond({ response_type: "ephemeral", ...message } as never);
  });

  if (mode === "socket") await app.start();
  return { mode, stop: () => (mode === "socket" ? app.stop().then(() => undefined) : Promise.resolve()) };
}

/** /pql for an account scored but never routed: its latest score, no claim state. */
async function unroutedSummary(rt: JobContext, accountId: string) {
  const config = rt.config.config;
  const { rows } = await rt.db.sql.query<{
    name: string | null;
    domain: string | null;
    score: number;
    tier: string;
    pqr: number;
    icp: number | null;
    reasons: string[];
    personas: string[];
    as_of: Date;
    config_version: string;
    company_id: string | null;
  }>(
    `SELECT a.name, a.domain, s.score, s.tier, s.pqr::float8 AS pqr, s.icp, s.reasons,
      COALESCE(s.features->'personas', '[]') AS personas, s.as_of, s.config_version, h.company_id
    FROM accounts a
    JOIN latest_scores l ON l.account_id = a.id
    JOIN score_snapshots s ON s.id = l.snapshot_id
    LEFT JOIN hubspot_companies h ON h.account_id = a.id AND h.company_id IS NOT NULL
    WHERE a.id = $1`,
    [accountId],
  );
  const r = rows[0];
  if (!r) return null;
  const labels = new Map(config.personas.map((p) => [p.key, p.label]));
  const calibration = await latestCalibration(rt.db, rt.config.version);
  const message = accountSummary({
    decisionId: null,
    accountId,
    name: r.name,
    domain: r.domain,
    tier: r.tier,
    score: Number(r.score),
    probability: probabilityOf({ score: Number(r.score), configVersion: r.config_version }, calibration),
    pqr: Number(r.pqr),
    currency: config.pqr.currency,
    icp: r.icp,
    reasons: r.reasons ?? [],
    personas: (r.personas ?? []).map((p) => labels.get(p) ?? p),
    pool: { key: "-", label: "not routed" },
    assignee: null,
    unassignedReason: "not routed",
    hubspotUrl: hubspotCompanyUrl(config, r.company_id),
    routedAt: new Date(r.as_of),
    state: { kind: "open" },
    owner: null,
  });
  return { response_type: "ephemeral" as const, ...message } as never;
}
