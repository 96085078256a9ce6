import { explainRouting } from "../../app/jobs/explain-routing.ts";
import { UsageError } from "../../errors.ts";
import type { Command } from "../command.ts";
import { keyValues, table } from "../output.ts";

export const routingExplainCommand: Command = {
  usage: "routing explain <account id, domain or name>",
  summary:
    "how an account was routed: pool, the rule that chose the rep, every rep skipped and why, claims and escalations",
  async run(ctx, positionals) {
    const key = positionals[0];
    if (!key)
      throw new UsageError(
        "routing explain needs an account id, domain or name: pql-router routing explain acme.com",
      );
    const rt = await ctx.runtime();
    const explained = await explainRouting(rt, key);
    if (!explained)
      throw new UsageError(
        `no account with id, domain or name ${JSON.stringify(key)}`,
        "`pql-router score` lists accounts",
      );
    const title = `${explained.name ?? explained.accountId} (${explained.domain ?? explained.accountId})`;
    if (explained.routings.length === 0) return { json: explained, text: `${title}: never routed` };
    const sections = [title];
    for (const r of explained.routings) {
      sections.push(
        keyValues([
          ["routing", `#${r.id} at ${r.decidedAt}${r.shadow ? " (shadow mode)" : ""}`],
          ["why", r.reason],
          ["pool", r.pool],
          ["rule", r.rule ?? "not assigned yet (the next HubSpot sync or Slack post assigns it)"],
          ["assigned to", r.repId ?? "nobody"],
          ["decision", r.assignment ?? "-"],
          ["skipped", r.skipped.length ? r.skipped.map((s) => `${s.repId}: ${s.reason}`).join("; ") : "-"],
          ["status", `${r.status}${r.escalations ? `, escalated ${r.escalations}x` : ""}`],
          ["Slack", r.slack.ts ? `${r.slack.channel} ${r.slack.ts}` : "not posted"],
        ]),
      );
      if (r.events.length > 0)
        sections.push(
          table(
            ["when", "what", "who", "detail"],
            r.events.map((e) => [
              e.at,
              e.kind,
              e.personId ?? "-",
              [e.reason, e.until && `until ${e.until}`].filter(Boolean).join(" ") || "-",
            ]),
          ),
        );
    }
    return { json: explained, text: sections.join("\n\n") };
  },
};
