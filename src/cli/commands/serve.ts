import { once } from "node:events";
import { UsageError } from "../../errors.ts";
import { redactSecrets } from "../../redact.ts";
import { type Command, intOption } from "../command.ts";
import { printable } from "../output.ts";

export const serveCommand: Command = {
  usage: "serve [--port N]",
  summary: "run the Segment-compatible HTTP Tracking API (POST /v1/*, GET /healthz) until stopped",
  options: { port: { type: "string" } },
  async run(ctx, _positionals, values) {
    if (!ctx.settings.ingestWriteKey) {
      throw new UsageError(
        "PQL_INGEST_WRITE_KEY is not set: the Tracking API authenticates senders with it",
        "set PQL_INGEST_WRITE_KEY to a long random string and give it to your Segment source or client",
      );
    }
    const port = intOption(values, "port", ctx.settings.port, 0);
    const rt = await ctx.runtime();
    const bound = await rt.listen(port);
    const location = rt.db.location;
    ctx.log.info({ port: bound, database: location }, "tracking API listening");
    ctx.stderr.write(
      printable(
        redactSecrets(
          `pql-router: Tracking API on http://localhost:${bound}/v1 (database: ${location}); Ctrl-C stops\n`,
        ),
      ),
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
