import { parseArgs } from "node:util";
import { pino } from "pino";
import pinoPretty from "pino-pretty";
import { createRuntime, type Runtime } from "../app/runtime.ts";
import { systemClock } from "../clock.ts";
import { loadSettings, SECRET_SETTINGS } from "../config/settings.ts";
import { describeError, UsageError } from "../errors.ts";
import { redactSecrets } from "../redact.ts";
import { currentCycle } from "../store/cycle-store.ts";
import type { CliContext, Command, Values } from "./command.ts";
import { backtestCommand } from "./commands/backtest.ts";
import { calibrateCommand } from "./commands/calibrate.ts";
import { configCheckCommand, configSchemaCommand } from "./commands/config.ts";
import { runOnceCommand, workerCommand } from "./commands/cycle.ts";
import { dbMigrateCommand } from "./commands/db-migrate.ts";
import { demoCommand } from "./commands/demo.ts";
import { evaluateCommand } from "./commands/evaluate.ts";
import { explainCommand } from "./commands/explain.ts";
import { forgetCommand } from "./commands/forget.ts";
import { generateCommand } from "./commands/generate.ts";
import {
  hubspotOutcomesCommand,
  hubspotPreviewCommand,
  hubspotSetupCommand,
  hubspotSyncCommand,
} from "./commands/hubspot.ts";
import { importCommand } from "./commands/import.ts";
import { outcomesImportCommand } from "./commands/outcomes-import.ts";
import { pruneCommand } from "./commands/prune.ts";
import { reportCommand } from "./commands/report.ts";
import { routingExplainCommand } from "./commands/routing.ts";
import { scoreCommand } from "./commands/score.ts";
import { serveCommand } from "./commands/serve.ts";
import { slackManifestCommand, slackPostCommand } from "./commands/slack.ts";
import { statusCommand } from "./commands/status.ts";
import { thresholdsSuggestCommand } from "./commands/thresholds.ts";
import { weightsFitCommand } from "./commands/weights.ts";
import { printable } from "./output.ts";

const COMMANDS: Record<string, Command> = {
  "config check": configCheckCommand,
  "config schema": configSchemaCommand,
  "db migrate": dbMigrateCommand,
  import: importCommand,
  "outcomes import": outcomesImportCommand,
  score: scoreCommand,
  explain: explainCommand,
  evaluate: evaluateCommand,
  backtest: backtestCommand,
  calibrate: calibrateCommand,
  "thresholds suggest": thresholdsSuggestCommand,
  "weights fit": weightsFitCommand,
  "hubspot setup": hubspotSetupCommand,
  "hubspot sync": hubspotSyncCommand,
  "hubspot preview": hubspotPreviewCommand,
  "hubspot outcomes": hubspotOutcomesCommand,
  "run-once": runOnceCommand,
  worker: workerCommand,
  "routing explain": routingExplainCommand,
  report: reportCommand,
  forget: forgetCommand,
  prune: pruneCommand,
  "slack post": slackPostCommand,
  "slack manifest": slackManifestCommand,
  serve: serveCommand,
  status: statusCommand,
  generate: generateCommand,
  demo: demoCommand,
};

function help(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return [
    "pql-router: product-qualified-lead scoring and routing",
    "",
    "Usage: pql-router <command> [options]   (every command takes --json)",
    "",
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    "",
    "Settings come from the environment: see .env.example and the README.",
  ].join("\n");
}

/** Runs one CLI command; returns the exit code. */
export async function main(
  argv: string[],
  io: { env?: NodeJS.ProcessEnv; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream } = {},
): Promise<number> {
  const env = io.env ?? process.env;
  // Whatever a command prints passes through here: no secret, and no control character from
  // ingested or vendor data in text for people (JSON escapes those itself).
  const secrets = SECRET_SETTINGS.map((name) => env[name]);
  const print = (stream: NodeJS.WriteStream, text: string, forPeople: boolean) =>
    stream.write(redactSecrets(forPeople ? printable(text) : text, secrets));
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const name = [`${argv[0]} ${argv[1]}`, argv[0]].find((n) => n !== undefined && n in COMMANDS);
  if (!name || argv.includes("--help") || argv.includes("-h")) {
    (name || argv.length === 0 || argv[0] === "help" || argv.includes("--help") ? stdout : stderr).write(
      `${name ? `Usage: pql-router ${COMMANDS[name]?.usage}\n  ${COMMANDS[name]?.summary}` : help()}\n`,
    );
    return name || argv.length === 0 || argv[0] === "help" || argv.includes("--help") ? 0 : 2;
  }
  const command = COMMANDS[name] as Command;
  const rest = argv.slice(name.split(" ").length);
  let json = false;
  let runtime: Promise<Runtime> | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { json: { type: "boolean" }, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    json = values.json === true;
    const settings = loadSettings(env);
    const log = pino(
      // Log lines pass the same redactor as everything else the process prints.
      {
        level: settings.logLevel,
        base: undefined,
        // Every line logged during a scheduled cycle carries its id.
        mixin: () => {
          const cycle = currentCycle();
          return cycle === undefined ? {} : { cycle: String(cycle) };
        },
        hooks: { streamWrite: (line) => redactSecrets(line, secrets) },
      },
      // People at a terminal read pretty lines; services and pipes get JSON lines.
      stderr.isTTY
        ? pinoPretty({ destination: 2, sync: true, colorize: true, translateTime: "SYS:HH:MM:ss" })
        : pino.destination({ dest: 2, sync: true }),
    );
    const clock = systemClock;
    const ctx: CliContext = {
      settings,
      log,
      stdout,
      stderr,
      clock,
      runtime(options = {}) {
        runtime ??= createRuntime({ settings, log, clock, ...options });
        return runtime;
      },
    };
    let output: Awaited<ReturnType<Command["run"]>>;
    try {
      output = await command.run(ctx, positionals, values as Values);
    } finally {
      await (await runtime?.catch(() => undefined))?.close();
    }
    // Printed once everything is closed: one result, or one error, never both.
    print(stdout, json ? `${JSON.stringify(output.json)}\n` : `${output.text}\n`, !json);
    return output.exitCode ?? 0;
  } catch (error) {
    const message = redactSecrets(describeError(error), secrets);
    print(stderr, `error: ${message}\n`, true);
    if (json) print(stdout, `${JSON.stringify({ error: { code: errorCode(error), message } })}\n`, false);
    return error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
      ? 2
      : 1;
  }
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : "internal";
}
