import { z } from "zod";

/**
 * Where scoring reads its signals (`source:` in the config). `builtin` is pql-router's own
 * `messages` table (what `import` and the Segment endpoint fill). `postgres` and `clickhouse` read
 * the product events where they already live, a warehouse, through a mapping of its tables and
 * columns: the aggregation runs there and only per-account aggregates travel.
 */

const identifier = z
  .string({ error: "expected a table or column name" })
  .regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, {
    error: "expected a plain table or column name (letters, digits, _ and $, starting with a letter or _)",
  });

/** Columns every event table maps: whose account, user and anonymous id it is, when it happened and arrived. */
const eventColumns = {
  table: identifier,
  account: identifier
    .optional()
    .describe("the account (Segment: context_group_id); else resolved from the user"),
  user: identifier.describe("the user id"),
  anonymousId: identifier.optional().describe("the anonymous id (resolved to a user through aliases)"),
  timestamp: identifier.describe("when it happened"),
  receivedAt: identifier.describe(
    "when it arrived in the warehouse: incremental passes read only what is new",
  ),
};

export const sourceMappingSchema = z.strictObject({
  tracks: z.strictObject({ ...eventColumns, event: identifier.describe("the event name") }),
  pages: z
    .strictObject({
      ...eventColumns,
      name: identifier.optional().describe("the page name (the path stands in when it is empty)"),
      path: identifier.describe("the page path"),
    })
    .optional(),
  screens: z.strictObject({ ...eventColumns, name: identifier.describe("the screen name") }).optional(),
  groups: z.strictObject({
    table: identifier,
    account: identifier.describe("the account id (Segment: group_id)"),
    user: identifier.describe("the user who joined it: a user's latest group is their account"),
    timestamp: identifier,
    receivedAt: identifier,
  }),
  identifies: z.strictObject({
    table: identifier,
    user: identifier,
    timestamp: identifier,
    receivedAt: identifier,
  }),
  aliases: z
    .strictObject({
      table: identifier,
      previousId: identifier.describe("the earlier id (often an anonymous id)"),
      user: identifier,
      timestamp: identifier,
    })
    .optional(),
  /**
   * Columns of groups and identifies that are not traits (beside those mapped above). Every
   * other column is a trait, named as the warehouse flattened it (Segment: snake_case).
   */
  notTraits: z.array(identifier).default([]),
  notTraitPrefixes: z.array(z.string()).default([]),
});

export type SourceMapping = z.output<typeof sourceMappingSchema>;

const SEGMENT_EVENT = {
  account: "context_group_id",
  user: "user_id",
  anonymousId: "anonymous_id",
  timestamp: "timestamp",
  receivedAt: "received_at",
} as const;

/**
 * Segment's warehouse schema (RudderStack writes the same layout): one table per call type,
 * traits flattened into snake_case columns that exist once a value has arrived.
 * https://segment.com/docs/connections/storage/warehouses/schema/
 */
export const SEGMENT_WAREHOUSE: SourceMapping = {
  tracks: { table: "tracks", ...SEGMENT_EVENT, event: "event" },
  pages: { table: "pages", ...SEGMENT_EVENT, name: "name", path: "path" },
  groups: {
    table: "groups",
    account: "group_id",
    user: "user_id",
    timestamp: "timestamp",
    receivedAt: "received_at",
  },
  identifies: { table: "identifies", user: "user_id", timestamp: "timestamp", receivedAt: "received_at" },
  aliases: { table: "aliases", previousId: "previous_id", user: "user_id", timestamp: "timestamp" },
  notTraits: [
    "id",
    "anonymous_id",
    "user_id",
    "group_id",
    "received_at",
    "sent_at",
    "original_timestamp",
    "timestamp",
    "uuid_ts",
    "loaded_at",
    "event",
    "event_text",
  ],
  notTraitPrefixes: ["context_"],
};

export const PRESETS = { "segment-warehouse": SEGMENT_WAREHOUSE } as const;

export const sourceSchema = z
  .discriminatedUnion(
    "type",
    [
      z.strictObject({ type: z.literal("builtin") }),
      z.strictObject({
        type: z.enum(["postgres", "clickhouse"]),
        preset: z
          .enum(Object.keys(PRESETS) as [keyof typeof PRESETS], { error: "expected segment-warehouse" })
          .optional()
          .describe("a known layout; or give `mapping`"),
        mapping: sourceMappingSchema.optional().describe("tables and columns, for any other layout"),
        database: identifier.describe("ClickHouse database, or PostgreSQL schema, holding the tables"),
        chunkSize: z
          .number()
          .int()
          .min(1)
          .default(25_000)
          .describe("accounts aggregated per statement (each statement scans the event tables once)"),
        loadDelayHours: z
          .number({ error: "expected hours >= 0" })
          .min(0, { error: "expected hours >= 0" })
          .default(24)
          .describe(
            "how long after its receivedAt a row may reach the warehouse (Segment loads in batches, every 1 to 24 hours by plan): incremental passes look back this much further; 0 when receivedAt is the load time",
          ),
        timeoutSeconds: z
          .number()
          .int()
          .min(1)
          .default(600)
          .describe("a warehouse statement running longer fails the pass (nothing is written)"),
      }),
    ],
    { error: "expected type: builtin, postgres or clickhouse" },
  )
  .superRefine((source, ctx) => {
    if (source.type === "builtin") return;
    if ((source.preset === undefined) === (source.mapping === undefined))
      ctx.addIssue({
        code: "custom",
        path: source.preset ? ["mapping"] : ["preset"],
        message: "expected either preset: segment-warehouse or a mapping, not both",
        input: source.preset,
      });
  })
  .describe("where signals are read: pql-router's own messages (builtin), or a warehouse");

export type SourceConfig = z.output<typeof sourceSchema>;
export type WarehouseSourceConfig = Exclude<SourceConfig, { type: "builtin" }>;

/** The mapping a warehouse source reads with: its preset's, or its own. */
export function mappingOf(source: WarehouseSourceConfig): SourceMapping {
  return source.mapping ?? PRESETS[source.preset ?? "segment-warehouse"];
}
