import { once } from "node:events";
import { UsageError } from "../../errors.ts";
import { redactSecrets } from "../../redact.ts";
import { type Command, intOption } from "../command.ts";
import { printable } from "../output.ts";

export const serveCommand: Command = {
  usage: "serve [--port N]",
  summary:
    "run the HTTP server until stopped: the Segment-compatible Tracking API (POST /v1/*), Slack claims (POST /slack/events), GET /healthz",
  options: { port: { type: "string" } },
  async run(ctx, _positionals, values) {
    const { ingestWriteKey, slackSigningSecret, slackAppToken, slackBotToken } = ctx.settings;
    const slack = Boolean(slackSigningSecret || slackAppToken);
    if (!ingestWriteKey && !slack) {
      throw new UsageError(
        "nothing to serve: set PQL_INGEST_WRITE_KEY (the Tracking API) and/or SLACK_SIGNING_SECRET (Slack claims)",
        "PQL_INGEST_WRITE_KEY is a long random string you give your Segment source; SLACK_SIGNING_SECRET comes from your Slack app",
      );
    }
    if (slack && !slackBotToken) {
      throw new UsageError(
        "SLACK_BOT_TOKEN is not set: Slack claims need it to update messages",
        "install the app (`pql-router slack manifest`) and set SLACK_BOT_TOKEN to its xoxb- token",
      );
    }
    const port = intOption(values, "port", ctx.settings.port, 0);
    const rt = await ctx.runtime({ config: slack });
    const bound = await rt.listen(port);
    const location = rt.db.location;
    const parts = [
      ingestWriteKey ? `Tracking API on http://localhost:${bound}/v1` : null,
      slackAppToken
        ? "Slack claims over Socket Mode"
        : slack
          ? `Slack claims on http://localhost:${bound}/slack/events`
          : null,
    ].filter(Boolean);
    ctx.log.info({ port: bound, database: location, ingest: Boolean(ingestWriteKey), slack }, "listening");
    ctx.stderr.write(
      printable(redactSecrets(`pql-router: ${parts.join("; ")} (database: ${location}); Ctrl-C stops\n`)),
    );
    const signal = await Promise.race(
      [once(process, "SIGINT"), once(process, "SIGTERM")].map((p, i) =>
        p.then(() => (i === 0 ? "SIGINT" : "SIGTERM")),
      ),
    );
    ctx.log.info({ signal }, "stopping");
    await rt.close();
    return { json: { stopped: signal, port: bound }, text: `stopped (${signal})` };
  },
};
