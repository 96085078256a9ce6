import { once } from "node:events";
import fs from "node:fs";
import { sampleAccount } from "./sample-account.ts";

export interface GenerateOptions {
  accounts: number;
  days: number;
  seed: number;
  /** Where the data set ends; events never come after it. */
  end: Date;
  out: string;
  onProgress?: (done: number, total: number) => void;
}

export interface GenerateSummary {
  file: string;
  outcomesFile: string;
  accounts: number;
  messages: number;
  converted: number;
  bytes: number;
}

/**
 * Writes a sample world: `out` (Segment NDJSON, one message a line) and `out.outcomes.csv`
 * (account_id,converted,converted_at,amount). Accounts are generated and written one at a time,
 * so memory does not grow with the size of the world.
 */
export async function generateWorld(options: GenerateOptions): Promise<GenerateSummary> {
  const outcomesFile = `${options.out}.outcomes.csv`;
  const events = fs.createWriteStream(options.out);
  const outcomes = fs.createWriteStream(outcomesFile);
  const write = async (stream: fs.WriteStream, chunk: string) => {
    if (!stream.write(chunk)) await once(stream, "drain");
  };
  await write(outcomes, "account_id,converted,converted_at,amount\n");
  let messages = 0;
  let converted = 0;
  for (let i = 0; i < options.accounts; i++) {
    const account = sampleAccount(options.seed, i, options.days, options.end);
    messages += account.messages.length;
    let chunk = "";
    for (const message of account.messages) chunk += `${JSON.stringify(message)}\n`;
    await write(events, chunk);
    const { outcome } = account;
    if (outcome.converted) converted++;
    await write(
      outcomes,
      `${account.id},${outcome.converted},${outcome.convertedAt?.toISOString() ?? ""},${outcome.converted ? outcome.amount : ""}\n`,
    );
    if (i % 500 === 0) options.onProgress?.(i, options.accounts);
  }
  events.end();
  outcomes.end();
  await Promise.all([once(events, "finish"), once(outcomes, "finish")]);
  options.onProgress?.(options.accounts, options.accounts);
  return {
    file: options.out,
    outcomesFile,
    accounts: options.accounts,
    messages,
    converted,
    bytes: fs.statSync(options.out).size,
  };
}
