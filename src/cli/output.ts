import Table from "cli-table3";
import stripAnsi from "strip-ansi";

/** What every command returns: data for scripts (`--json`) and text for people. */
export interface CommandOutput {
  json: unknown;
  text: string;
  /** Non-zero when the command found a problem (e.g. an invalid config). */
  exitCode?: number;
}

// C0 controls but line feed, DEL, C1 controls, and the bidirectional overrides that reorder text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text safe to print on a terminal: escape sequences (a company named "\u001b[1;31mEvil") and other
 * control characters from ingested data are removed, so data can never drive the terminal. Line
 * breaks stay. JSON output needs none of this: JSON escapes control characters.
 */
export function printable(text: string): string {
  return stripAnsi(text).replace(CONTROL, "");
}

/** One table cell or value: printable, and on one line. */
function cell(value: string | number): string {
  return printable(String(value).replace(/[\t\r\n]+/g, " "));
}

/** A plain table for people: headers and rows of cells. */
export function table(
  headers: string[],
  rows: (string | number)[][],
  options: { align?: ("left" | "right")[] } = {},
): string {
  const t = new Table({
    head: headers,
    style: { head: [], border: [], compact: true },
    colAligns: options.align ?? headers.map(() => "left"),
  });
  for (const row of rows) t.push(row.map(cell));
  return t.toString();
}

/** Key/value lines, aligned. */
export function keyValues(pairs: [string, string | number][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`).join("\n");
}

export function formatNumber(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatDate(d: Date | null | undefined): string {
  return d ? d.toISOString().replace(".000Z", "Z") : "-";
}
