/**
 * One CSV row -> one Segment message object (then validated like any other message).
 *
 * Columns (header row required, any order, unknown columns are an error so typos surface):
 *   type, messageId, timestamp, userId, anonymousId, event, name, groupId, previousId,
 *   properties, traits, context        -- the last three hold JSON objects
 *   properties.<key>, traits.<key>, context.<key>  -- one field each; "12" -> 12, "true" -> true
 * `groupId` is the account: the group's id on a group row, context.groupId on any other row.
 */

const PLAIN = ["type", "messageId", "timestamp", "userId", "anonymousId", "event", "name", "previousId"];
const JSON_COLUMNS = ["properties", "traits", "context"];
export const CSV_COLUMNS = [...PLAIN, "groupId", ...JSON_COLUMNS];

/** Returns the unknown header names (empty when the header is usable). */
export function unknownCsvColumns(header: readonly string[]): string[] {
  return header.filter((h) => !CSV_COLUMNS.includes(h) && !JSON_COLUMNS.some((c) => h.startsWith(`${c}.`)));
}

export type CsvRowResult = { ok: true; value: Record<string, unknown> } | { ok: false; reason: string };

export function csvRowToMessage(row: Record<string, string>): CsvRowResult {
  const message: Record<string, unknown> = {};
  for (const column of PLAIN) {
    const value = row[column];
    if (value !== undefined && value !== "") message[column] = value;
  }
  for (const column of JSON_COLUMNS) {
    const value = row[column];
    if (value === undefined || value === "") continue;
    try {
      const parsed: unknown = JSON.parse(value);
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        return { ok: false, reason: `column ${column}: expected a JSON object, got ${truncate(value)}` };
      }
      message[column] = parsed;
    } catch {
      return { ok: false, reason: `column ${column}: not valid JSON: ${truncate(value)}` };
    }
  }
  for (const [column, value] of Object.entries(row)) {
    const dot = column.indexOf(".");
    if (dot < 0 || value === "") continue;
    const parent = column.slice(0, dot);
    if (message[parent] === undefined) message[parent] = {};
    const target = message[parent] as Record<string, unknown>;
    target[column.slice(dot + 1)] = scalar(value);
  }
  const groupId = row.groupId;
  if (groupId) {
    if (message.type === "group") message.groupId = groupId;
    else message.context = { ...(message.context as Record<string, unknown> | undefined), groupId };
  }
  return { ok: true, value: message };
}

function scalar(value: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === "true") return true;
  if (value === "false") return false;
  return value;
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 37)}...` : value;
}
