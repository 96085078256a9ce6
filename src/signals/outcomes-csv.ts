import fs from "node:fs";
import { parse as parseCsv } from "csv-parse";
import type { OutcomeRow } from "../store/outcome-store.ts";
import { parseTimestamp } from "./segment-message.ts";

export interface OutcomesFile {
  rows: OutcomeRow[];
  rejected: { line: number; reason: string }[];
}

/**
 * Reads an outcomes CSV: account_id,converted,converted_at,amount (converted is true/false;
 * converted_at and amount may be empty for accounts that did not convert).
 */
export async function readOutcomesCsv(file: string): Promise<OutcomesFile> {
  const result: OutcomesFile = { rows: [], rejected: [] };
  const parser = fs
    .createReadStream(file)
    .pipe(parseCsv({ columns: true, info: true, skip_empty_lines: true, bom: true }));
  for await (const { record, info } of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number };
  }>) {
    const line = info.lines;
    const accountId = record.account_id?.trim();
    const converted = record.converted?.trim().toLowerCase();
    if (!accountId) {
      result.rejected.push({ line, reason: "account_id: missing" });
      continue;
    }
    if (converted !== "true" && converted !== "false") {
      result.rejected.push({
        line,
        reason: `converted: expected true or false, got ${JSON.stringify(record.converted ?? "")}`,
      });
      continue;
    }
    const at = record.converted_at?.trim() ? parseTimestamp(record.converted_at.trim()) : null;
    if (record.converted_at?.trim() && !at) {
      result.rejected.push({
        line,
        reason: `converted_at: expected an ISO-8601 date, got ${JSON.stringify(record.converted_at)}`,
      });
      continue;
    }
    const amount = record.amount?.trim() ? Number(record.amount) : null;
    if (amount !== null && !(Number.isFinite(amount) && amount >= 0)) {
      result.rejected.push({
        line,
        reason: `amount: expected a number >= 0, got ${JSON.stringify(record.amount)}`,
      });
      continue;
    }
    result.rows.push({ accountId, converted: converted === "true", convertedAt: at, amount });
  }
  return result;
}
