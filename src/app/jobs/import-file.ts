import fs from "node:fs";
import readline from "node:readline";
import { parse as parseCsv } from "csv-parse";
import { csvRowToMessage, unknownCsvColumns } from "../../signals/csv-message.ts";
import {
  MAX_MESSAGE_BYTES,
  parseSegmentMessage,
  type SegmentMessage,
} from "../../signals/segment-message.ts";
import { storeMessages } from "../../store/message-store.ts";
import type { Runtime } from "../runtime.ts";

export interface ImportSummary {
  accepted: number;
  duplicates: number;
  rejected: { line: number; reason: string }[];
}

export interface ImportOptions {
  format?: "ndjson" | "csv";
  batchSize?: number;
  /** Batches handed to the store before the oldest is written (so the next is prepared meanwhile). */
  concurrency?: number;
  onProgress?: (progress: { bytesRead: number; totalBytes: number }) => void;
}

/**
 * Streams an NDJSON (one Segment message a line) or CSV file into the store. Memory stays flat
 * in file size: lines are parsed as they are read and written in batches, at most `concurrency`
 * batches waiting on the database while the next is parsed. A bad line is rejected with its physical
 * line number (counted from 1, blank lines included) and every valid line is still stored.
 */
export async function importFile(
  rt: Pick<Runtime, "db" | "clock">,
  file: string,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const format = options.format ?? (file.toLowerCase().endsWith(".csv") ? "csv" : "ndjson");
  // The embedded engine keeps what a batch needs in memory it never gives back: smaller batches
  // there (no slower, measured), PostgreSQL's larger ones elsewhere.
  const batchSize = options.batchSize ?? (rt.db.engine === "embedded" ? 5_000 : 10_000);
  const receivedAt = new Date(rt.clock.now());
  const totalBytes = fs.statSync(file).size;
  const summary: ImportSummary = { accepted: 0, duplicates: 0, rejected: [] };
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 16 });

  let batch: SegmentMessage[] = [];
  /** The line of each message in `batch`. */
  let lines: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let lastProgress = 0;
  const flush = async () => {
    const messages = batch;
    const lineOf = lines;
    batch = [];
    lines = [];
    while (inFlight.size >= (options.concurrency ?? 2)) await Promise.race(inFlight);
    if (failure) throw failure;
    const write: Promise<void> = storeMessages(rt.db, messages, rt.clock)
      .then((result) => {
        summary.accepted += result.accepted;
        summary.duplicates += result.duplicates;
        for (const { index, reason } of result.rejected)
          summary.rejected.push({ line: lineOf[index] as number, reason });
      })
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => inFlight.delete(write));
    inFlight.add(write);
    if (options.onProgress && rt.clock.now() - lastProgress > 100) {
      lastProgress = rt.clock.now();
      options.onProgress({ bytesRead: stream.bytesRead, totalBytes });
    }
  };
  const accept = async (line: number, value: unknown, byteLength: number, text?: string) => {
    const result = parseSegmentMessage(value, {
      receivedAt,
      byteLength,
      ...(text === undefined ? {} : { text }),
    });
    if (!result.ok) {
      summary.rejected.push({ line, reason: result.reason });
      return;
    }
    batch.push(result.message);
    lines.push(line);
    if (batch.length >= batchSize) await flush();
  };

  if (format === "ndjson") {
    let line = 0;
    for await (const text of readline.createInterface({
      input: stream,
      crlfDelay: Number.POSITIVE_INFINITY,
    })) {
      line++;
      if (text.trim() === "") continue;
      // Only a line that could be over the limit pays for an exact byte count.
      const bytes = text.length * 3 > MAX_MESSAGE_BYTES ? Buffer.byteLength(text) : text.length;
      if (bytes > MAX_MESSAGE_BYTES) {
        summary.rejected.push({ line, reason: `message is ${bytes} bytes, over the 32 KB limit` });
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        summary.rejected.push({ line, reason: `bad JSON: ${(error as Error).message}` });
        continue;
      }
      await accept(line, value, bytes, text);
    }
  } else {
    const parser = stream.pipe(
      parseCsv({ columns: true, info: true, skip_empty_lines: true, relax_column_count: true, bom: true }),
    );
    let checkedHeader = false;
    for await (const record of parser as AsyncIterable<{
      record: Record<string, string>;
      info: { lines: number };
    }>) {
      const line = record.info.lines;
      if (!checkedHeader) {
        checkedHeader = true;
        const unknown = unknownCsvColumns(Object.keys(record.record));
        if (unknown.length > 0) {
          stream.destroy();
          summary.rejected.push({ line: 1, reason: `unknown CSV column(s): ${unknown.join(", ")}` });
          break;
        }
      }
      const row = csvRowToMessage(record.record);
      if (!row.ok) {
        summary.rejected.push({ line, reason: row.reason });
        continue;
      }
      await accept(line, row.value, Buffer.byteLength(JSON.stringify(row.value)));
    }
  }
  if (batch.length > 0) await flush();
  await Promise.all(inFlight);
  if (failure) throw failure;
  options.onProgress?.({ bytesRead: totalBytes, totalBytes });
  // Lines the database refused are known only once their batch is written.
  summary.rejected.sort((a, b) => a.line - b.line);
  return summary;
}
