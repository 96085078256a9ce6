import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Database } from "../store/database.ts";
import { pendingSlackCount } from "../store/slack-store.ts";
import type { CycleResult } from "./jobs/cycle.ts";

/**
 * The process's Prometheus metrics (prom-client, one registry per runtime). What happens in this
 * process is counted as it happens (cycles, stages, vendor calls, ingest); what the database
 * holds (routed, posted, claimed, queues, budgets) is read when scraped, with cheap queries, so
 * every replica reports the same picture.
 */
export interface Metrics {
  readonly registry: Registry;
  cycle(result: CycleResult): void;
  /** A Slack Web API call and how it ended. */
  slackCall(method: string, outcome: "ok" | "rate_limited" | "error"): void;
  /** Messages stored by the Tracking API. */
  ingested(result: { accepted: number; duplicates: number; rejected: number }): void;
  /** A config file refused (1) or in force (0). */
  configRefused(refused: boolean): void;
}

const STAGE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export function createMetrics(db: Database): Metrics {
  const registry = new Registry();
  const cycleDuration = new Histogram({
    name: "pql_cycle_duration_seconds",
    help: "Duration of scheduled cycles, by outcome",
    labelNames: ["status"],
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  const stageDuration = new Histogram({
    name: "pql_stage_duration_seconds",
    help: "Duration of cycle stages (score, hubspot, slack, outcomes), by outcome",
    labelNames: ["stage", "status"],
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: "pql_last_successful_cycle_timestamp_seconds",
    help: "When this process last completed a cycle with every stage ok (Unix time)",
    registers: [registry],
  });
  const scored = new Counter({
    name: "pql_accounts_scored_total",
    help: "Accounts scored by this process's cycles",
    registers: [registry],
  });
  const hubspotCalls = new Counter({
    name: "pql_hubspot_calls_total",
    help: "HubSpot API requests made by this process's cycles (retries included)",
    registers: [registry],
  });
  const hubspotLimited = new Counter({
    name: "pql_hubspot_rate_limited_total",
    help: "HubSpot answers 429 received by this process's cycles",
    registers: [registry],
  });
  const slackCalls = new Counter({
    name: "pql_slack_calls_total",
    help: "Slack Web API calls by this process, by method and outcome (ok, rate_limited, error)",
    labelNames: ["method", "outcome"],
    registers: [registry],
  });
  const ingest = new Counter({
    name: "pql_ingest_messages_total",
    help: "Messages received by the Tracking API, by result (accepted, duplicate, rejected)",
    labelNames: ["result"],
    registers: [registry],
  });
  const configRefused = new Gauge({
    name: "pql_config_refused",
    help: "1 while the config file on disk is invalid (the last good config stays in force)",
    registers: [registry],
  });
  // Read from the database at scrape time.
  new Gauge({
    name: "pql_accounts",
    help: "Accounts by tier, as of the latest scoring pass",
    labelNames: ["tier"],
    registers: [registry],
    async collect() {
      const { rows } = await db.sql.query<{ stats: { tiers?: Record<string, number> } }>(
        "SELECT stats FROM cycle_runs WHERE kind = 'score' AND status = 'ok' ORDER BY started_at DESC LIMIT 1",
      );
      for (const [tier, n] of Object.entries(rows[0]?.stats.tiers ?? {})) this.set({ tier }, n);
    },
  });
  new Gauge({
    name: "pql_routings",
    help: "Routing decisions by status (open, claimed, snoozed, not_a_fit, superseded, expired)",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      const { rows } = await db.sql.query<{ status: string; n: number }>(
        "SELECT status, count(*)::int AS n FROM routing_decisions GROUP BY status",
      );
      this.reset();
      for (const r of rows) this.set({ status: r.status }, r.n);
    },
  });
  new Gauge({
    name: "pql_slack_posted",
    help: "Slack messages posted (alerts, escalation replies, digests)",
    registers: [registry],
    async collect() {
      const { rows } = await db.sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM slack_posts WHERE ts IS NOT NULL",
      );
      this.set(rows[0]?.n ?? 0);
    },
  });
  new Gauge({
    name: "pql_pending",
    help: "Work queued for the next cycle: slack_posts (messages to post), hubspot_tasks (tasks to create), hubspot_owners (claims whose task owner is not written yet)",
    labelNames: ["queue"],
    registers: [registry],
    async collect() {
      const since = new Date(Date.now() - 72 * 3_600_000);
      this.set({ queue: "slack_posts" }, await pendingSlackCount(db, since));
      const { rows } = await db.sql.query<{ tasks: number; owners: number }>(
        `SELECT
          (SELECT count(*)::int FROM routing_decisions WHERE hubspot_task_id IS NULL AND hubspot_task_error IS NULL
            AND NOT shadow AND status <> 'expired') AS tasks,
          (SELECT count(*)::int FROM routing_decisions d JOIN claims c ON c.decision_id = d.id
            JOIN sales_reps p ON p.id = c.rep_id
            WHERE d.hubspot_task_id IS NOT NULL AND NOT d.shadow
              AND d.hubspot_task_owner_id IS DISTINCT FROM COALESCE(p.hubspot_owner_id,
                (SELECT o.owner_id FROM hubspot_owners o WHERE o.email = lower(p.email)))
              AND d.hubspot_task_owner_rejected IS NULL) AS owners`,
      );
      this.set({ queue: "hubspot_tasks" }, rows[0]?.tasks ?? 0);
      this.set({ queue: "hubspot_owners" }, rows[0]?.owners ?? 0);
    },
  });
  new Gauge({
    name: "pql_hubspot_daily_calls",
    help: "HubSpot API calls made today (UTC) by every process, against the daily budget",
    registers: [registry],
    async collect() {
      const { rows } = await db.sql.query<{ calls: number }>(
        "SELECT calls FROM hubspot_usage WHERE day = (now() AT TIME ZONE 'UTC')::date",
      );
      this.set(rows[0]?.calls ?? 0);
    },
  });

  return {
    registry,
    cycle(result) {
      if (result.status === "busy") return;
      cycleDuration.observe({ status: result.status }, result.durationMs / 1000);
      for (const s of result.stages) {
        if (s.status !== "skipped")
          stageDuration.observe({ stage: s.stage, status: s.status }, s.durationMs / 1000);
        if (s.stage === "score") scored.inc(s.counts.scored ?? 0);
        if (s.stage === "hubspot") {
          hubspotCalls.inc(s.counts.calls ?? 0);
          hubspotLimited.inc(s.counts.rateLimited ?? 0);
        }
      }
      if (result.status === "ok")
        lastSuccess.set(Date.parse(result.startedAt) / 1000 + result.durationMs / 1000);
    },
    slackCall(method, outcome) {
      slackCalls.inc({ method, outcome });
    },
    ingested(r) {
      ingest.inc({ result: "accepted" }, r.accepted);
      ingest.inc({ result: "duplicate" }, r.duplicates);
      ingest.inc({ result: "rejected" }, r.rejected);
    },
    configRefused(refused) {
      configRefused.set(refused ? 1 : 0);
    },
  };
}
