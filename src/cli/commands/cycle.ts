import { once } from "node:events";
import { type CycleOptions, type CycleResult, runCycle, type StageName } from "../../app/jobs/cycle.ts";
import { startWorker } from "../../app/worker.ts";
import { UsageError } from "../../errors.ts";
import { redactSecrets } from "../../redact.ts";
import { type Command, intOption } from "../command.ts";
import { printable, table } from "../output.ts";

/**
 * Test-only fault hook: PQL_TEST_STAGE_DELAY=<stage>:<ms> makes the cycle wait before that
 * stage, so a test can kill the process there. Unset in production (nothing waits).
 */
function faultHooks(env: NodeJS.ProcessEnv): CycleOptions {
  const hook = env.PQL_TEST_STAGE_DELAY;
  if (!hook) return {};
  const m = /^(score|hubspot|slack|outcomes):(\d+)$/.exec(hook);
  if (!m) throw new UsageError(`PQL_TEST_STAGE_DELAY: expected <stage>:<ms>, got ${JSON.stringify(hook)}`);
  return { delayBefore: { stage: m[1] as StageName, ms: Number(m[2]) } };
}

export function renderCycle(result: CycleResult): string {
  if (result.status === "busy") return "another process is running the cycle on this database: nothing done";
  const lines = [
    `cycle ${result.cycleId}: ${result.status} in ${(result.durationMs / 1000).toFixed(1)} s` +
      (result.interrupted ? ` (found ${result.interrupted} interrupted cycle(s) and marked them)` : ""),
    table(
      ["stage", "status", "seconds", "figures", "note"],
      result.stages.map((s) => [
        s.stage,
        s.status,
        (s.durationMs / 1000).toFixed(1),
        Object.entries(s.counts)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ") || "-",
        s.error ? s.error.slice(0, 120) : "",
      ]),
    ),
  ];
  return lines.join("\n");
}

export const runOnceCommand: Command = {
  usage: "run-once",
  summary:
    "one full cycle now: scoring pass, HubSpot sync, Slack posting, outcomes when due; exit 1 if a stage failed",
  async run(ctx) {
    const hooks = faultHooks(process.env);
    const rt = await ctx.runtime({ config: true });
    const result = await runCycle(rt, hooks);
    return { json: result, text: renderCycle(result), exitCode: result.status === "failed" ? 1 : 0 };
  },
};

export const workerCommand: Command = {
  usage: "worker [--port N]",
  summary:
    "the service: the cycle on schedule.cron (one at a time across replicas) and the HTTP server (ingest, /slack/events, /healthz, /readyz)",
  options: { port: { type: "string" } },
  async run(ctx, _positionals, values) {
    const hooks = faultHooks(process.env);
    const port = intOption(values, "port", ctx.settings.port, 0);
    const rt = await ctx.runtime({ config: true });
    const worker = startWorker(rt, hooks);
    const bound = await rt.listen(port);
    ctx.log.info({ port: bound, database: rt.db.location }, "worker started");
    ctx.stderr.write(
      printable(
        redactSecrets(
          `pql-router worker: cycle on "${rt.config.config.schedule.cron}" (${rt.config.config.schedule.timezone}); HTTP on http://localhost:${bound} (database: ${rt.db.location}); Ctrl-C stops\n`,
        ),
      ),
    );
    const signal = await Promise.race(
      [once(process, "SIGINT"), once(process, "SIGTERM")].map((p, i) =>
        p.then(() => (i === 0 ? "SIGINT" : "SIGTERM")),
      ),
    );
    ctx.log.info({ signal }, "stopping: no new cycle; waiting for the current one");
    const { abandoned } = await worker.stop(ctx.settings.shutdownTimeoutMs);
    if (abandoned)
      ctx.log.warn("the cycle in progress was abandoned at shutdown; the next cycle marks it interrupted");
    await rt.close();
    return { json: { stopped: signal, port: bound, abandoned }, text: `stopped (${signal})` };
  },
};
