import { UsageError } from "../../errors.ts";
import { forgetAccount, forgetUser } from "../../store/forget.ts";
import type { Command } from "../command.ts";
import { table } from "../output.ts";

export const forgetCommand: Command = {
  usage: "forget --user ID | --account ID",
  summary: "erase a person's or a company's data (GDPR); what is derived is recomputed at the next pass",
  options: { user: { type: "string" }, account: { type: "string" } },
  async run(ctx, _positionals, values) {
    const user = typeof values.user === "string" ? values.user : undefined;
    const account = typeof values.account === "string" ? values.account : undefined;
    if ((user === undefined) === (account === undefined) || (user ?? account) === "")
      throw new UsageError("forget needs exactly one of --user ID or --account ID");
    const rt = await ctx.runtime();
    const result = user
      ? { kind: "user", id: user, ...(await forgetUser(rt.db, user, new Date(rt.clock.now()))) }
      : {
          kind: "account",
          id: account as string,
          ...(await forgetAccount(rt.db, account as string)),
          accounts: [] as string[],
        };
    const total = Object.values(result.erased).reduce((a, b) => a + b, 0);
    const lines = [
      total === 0
        ? `nothing stored for ${result.kind} ${JSON.stringify(result.id)}`
        : `erased ${result.kind} ${JSON.stringify(result.id)}:\n${table(
            ["what", "rows"],
            Object.entries(result.erased).map(([k, n]) => [k, n]),
            { align: ["left", "right"] },
          )}`,
    ];
    if (result.kind === "user" && result.accounts.length)
      lines.push(`accounts rescored at the next pass without them: ${result.accounts.join(", ")}`);
    if (result.kind === "account" && total > 0)
      lines.push(
        "HubSpot and Slack keep their own copies (the company, its tasks, posted messages): delete them there too.",
      );
    return { json: result, text: lines.join("\n") };
  },
};
