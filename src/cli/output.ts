import Table from "cli-table3";

/** What every command returns: data for scripts (`--json`) and text for people. */
export interface CommandOutput {
  json: unknown;
  text: string;
  /** Non-zero when the command found a problem (e.g. an invalid config). */
  exitCode?: number;
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
  for (const row of rows) t.push(row.map(String));
  return t.toString();
}

/** Key/value lines, aligned. */
export function keyValues(pairs: [string, string | number][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

export function formatNumber(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatDate(d: Date | null | undefined): string {
  return d ? d.toISOString().replace(".000Z", "Z") : "-";
}
