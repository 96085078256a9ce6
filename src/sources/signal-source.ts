import type { PqlConfig } from "../config/schema.ts";
import type { AccountFeatures } from "../signals/account-features.ts";
import type { PersonaMatcher } from "../signals/persona.ts";
import { type FeaturesOptions, readAccountFeatures } from "../store/account-features-query.ts";
import type { Database } from "../store/database.ts";
import { attributeMessages } from "../store/message-store.ts";
import { personaKeys } from "../store/persona-store.ts";
import {
  accountCount,
  accountIdsAsOf,
  changedAccountIds,
  type LastPass,
  newestEventAt,
} from "../store/score-store.ts";
import { warehouseSource } from "./warehouse-source.ts";

/**
 * Where a scoring pass reads signals: pql-router's own messages (builtin), or a warehouse
 * (warehouse-source.ts). The pass asks it for the accounts to score and their features; scores,
 * routing, claims and the CRM stay in pql-router's database whatever the source.
 */
export interface SignalSource {
  readonly type: "builtin" | "postgres" | "clickhouse";
  /**
   * Work before reading (builtin: attribute messages that arrived before their user's group call;
   * a warehouse resolves attribution in every query). `since`: when the last pass started.
   */
  prepare(since: Date | null): Promise<void>;
  /** Every account with an event at or before `now` (sorted), or those among `among`. */
  accountIds(now: Date, among?: readonly string[]): Promise<string[]>;
  /** How many accounts there are in all (the pass's `accounts`). */
  accountCount(): Promise<number>;
  /** Accounts whose features may have changed since the last pass (see `changedAccountIds`). */
  changedAccountIds(last: LastPass, now: Date, windowDays: number[]): Promise<string[]>;
  /**
   * A reader of features for one pass: what it needs once per pass (the persona table) is worked
   * out here, then `read` is called per chunk of accounts.
   */
  featureReader(
    config: PqlConfig,
    personaOf: PersonaMatcher,
    options?: FeaturesOptions,
  ): Promise<FeatureRead>;
  /** The newest event's time (any call type), null when there is none: what the stale-data warning reads. */
  newestEventAt(): Promise<Date | null>;
  /** Accounts per read. */
  readonly chunkSize: number;
  close(): Promise<void>;
}

/**
 * Reads the features of `accountIds` as of `now` (accounts without any event then are left out).
 * `slice`: the ids are a whole run of the sorted list `accountIds(now)` returned (a full pass's
 * chunk), so a source may select them by their range rather than list them.
 */
export type FeatureRead = (
  now: Date,
  accountIds: readonly string[],
  slice?: boolean,
) => Promise<AccountFeatures[]>;

/** The builtin source: the `messages` table of pql-router's own database. */
export function builtinSource(db: Database): SignalSource {
  return {
    type: "builtin",
    chunkSize: 2000,
    prepare: async (since) => {
      await attributeMessages(db, since);
    },
    accountIds: (now, among) => accountIdsAsOf(db, now, among),
    accountCount: () => accountCount(db),
    newestEventAt: () => newestEventAt(db),
    changedAccountIds: (last, now, windowDays) => changedAccountIds(db, last, now, windowDays),
    featureReader: async (config, personaOf, options) => {
      const personas = await personaKeys(db, personaOf);
      return (now, ids) => readAccountFeatures(db, config, now, ids, personas, options);
    },
    close: async () => {},
  };
}

/** The source the config names (`source:`; builtin when absent), opened for one pass. */
export async function openSource(
  config: PqlConfig,
  db: Database,
  sourceUrl: string | undefined,
): Promise<SignalSource> {
  const source = config.source;
  if (!source || source.type === "builtin") return builtinSource(db);
  return warehouseSource(source, sourceUrl);
}

/** The newest event of the config's source (opened and closed for it). */
export async function sourceNewestEventAt(
  config: PqlConfig,
  db: Database,
  sourceUrl: string | undefined,
): Promise<Date | null> {
  const source = await openSource(config, db, sourceUrl);
  try {
    return await source.newestEventAt();
  } finally {
    await source.close();
  }
}
