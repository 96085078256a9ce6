import { once } from "node:events";
import { UsageError } from "../../errors.ts";
import { createTrackingApi } from "../../signals/tracking-api.ts";
import { storeMessages } from "../../store/message-store.ts";
import { type Command, intOption } from "../command.ts";

export const serveCommand: Command = {
  usage: "serve [--port N]",
  summary: "run the Segment-compatible HTTP Tracking API (POST /v1/*, GET /healthz) until stopped",
  options: { port: { type: "string" } },
  async run(ctx, _positionals, values) {
    const writeKey = ctx.settings.ingestWriteKey;
    if (!writeKey) {
      throw new UsageError(
        "PQL_INGEST_WRITE_KEY is not set: the Tracking API authenticates senders with it",
        "set PQL_INGEST_WRITE_KEY to a long random string and give it to your Segment source or client",
      );
    }
    const port = intOption(values, "port", ctx.settings.port, 0);
    const db = await ctx.openDatabase();
    const server = createTrackingApi({
      writeKey,
      store: (messages) => storeMessages(db, messages),
      log: ctx.log,
    });
    try {
      server.listen(port);
      await once(server, "listening");
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : port;
      ctx.log.info({ port: bound, database: db.location }, "tracking API listening");
      ctx.stderr.write(
        `pql-router: Tracking API on http://localhost:${bound}/v1 (database: ${db.location}); Ctrl-C stops\n`,
      );
      const signal = await new Promise<string>((resolve) => {
        process.once("SIGINT", () => resolve("SIGINT"));
        process.once("SIGTERM", () => resolve("SIGTERM"));
      });
      ctx.log.info({ signal }, "stopping");
      server.close();
      server.closeAllConnections();
      await once(server, "close");
      return { json: { stopped: signal, port: bound }, text: `stopped (${signal})` };
    } finally {
      await db.close();
    }
  },
};
