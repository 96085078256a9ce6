import { IntegrationError } from "../../errors.ts";
import { errorMessage, type HubSpotHttp } from "./hubspot-http.ts";

/** A CRM object as HubSpot returns it from batch endpoints. */
export interface CrmObject {
  id: string;
  properties: Record<string, string | null>;
}

interface BatchError {
  category?: string;
  message?: string;
  context?: Record<string, unknown>;
}

interface BatchAnswer {
  results?: CrmObject[];
  errors?: BatchError[];
}

/** HubSpot's batch endpoints take at most this many records per call. */
export const BATCH_SIZE = 100;
/** Batch calls in flight at once per write. */
const IN_FLIGHT = 4;

export interface BatchWrite<T> {
  /** e.g. /crm/v3/objects/companies/batch/update */
  path: string;
  /** The record's key: what results and errors are matched back to. */
  key(item: T): string;
  input(item: T): unknown;
  /** The key a returned object answers for (its id, or the unique property we sent). */
  resultKey(result: CrmObject): string | undefined;
  /** Extra body fields beside `inputs` (e.g. idProperty for batch read). */
  extra?: Record<string, unknown>;
  /** Creates: never resent on a 5xx or no answer (see HubSpotRequest.retry). */
  creates?: boolean;
  /** Called after each call with what it settled, so progress is recorded as it happens. */
  settled(outcome: BatchOutcome<T>): Promise<void>;
}

export interface BatchOutcome<T> {
  ok: { item: T; result: CrmObject }[];
  /**
   * Rejected by HubSpot with a 4xx: recorded against the record, never retried as is. `category`
   * is HubSpot's error category (VALIDATION_ERROR, OBJECT_NOT_FOUND, CONFLICT...): decide on it,
   * never on the reason's text.
   */
  rejected: { item: T; reason: string; category: string | null }[];
  /** Neither confirmed nor rejected (e.g. a 207 error we cannot tie to a record): tried again next cycle. */
  unconfirmed: T[];
}

/** The body of one batch call: what `writeInBatches` sends, and what the preview shows. */
export function batchBody<T>(spec: Pick<BatchWrite<T>, "input" | "extra">, batch: readonly T[]) {
  return { ...spec.extra, inputs: batch.map((item) => spec.input(item)) };
}

/** `items` in batches of BATCH_SIZE. */
export function inBatches<T>(items: readonly T[]): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH_SIZE) batches.push(items.slice(i, i + BATCH_SIZE));
  return batches;
}

/** Categories of per-record errors that will fail again if resent unchanged. */
const FINAL = /VALIDATION|NOT_FOUND|CONFLICT|INVALID|DUPLICATE|ALREADY_EXISTS|PROPERTY/;

/**
 * Writes `items` through a HubSpot batch endpoint, 100 per call. 200/201 settle the whole batch;
 * a 207 settles each record by its result or error (record errors of a transient kind are sent
 * once more, alone); a 4xx for a batch is split in halves until the bad records stand alone, and
 * a lone record's 4xx is recorded against it. A missing property stops the sync: that is a setup
 * problem, not a record's. 429/5xx/network are retried below, in `HubSpotHttp`.
 */
export async function writeInBatches<T>(http: HubSpotHttp, items: readonly T[], spec: BatchWrite<T>) {
  const totals = { ok: 0, rejected: 0, unconfirmed: 0 };
  let aborted = false;
  const run = async (batch: readonly T[], retryTransient: boolean): Promise<void> => {
    if (aborted) return;
    const { status, body } = await http.send<BatchAnswer>({
      method: "POST",
      path: spec.path,
      body: batchBody(spec, batch),
      retry: spec.creates !== true,
    });
    if (status === 0 || status >= 500) {
      // A create with no answer, or a 5xx: HubSpot may or may not have done it.
      const outcome = { ok: [], rejected: [], unconfirmed: [...batch] };
      totals.unconfirmed += batch.length;
      await spec.settled(outcome);
      return;
    }
    if (status >= 400) {
      if (missingProperty(body)) {
        throw new IntegrationError(
          "hubspot_rejected",
          `HubSpot does not know a property we write (${spec.path}): ${errorMessage(body)}`,
          { status, hint: "run `pql-router hubspot setup` to create pql-router's properties" },
        );
      }
      if (batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await run(batch.slice(0, half), retryTransient);
        await run(batch.slice(half), retryTransient);
        return;
      }
      const outcome = {
        ok: [],
        rejected: batch.map((item) => ({ item, reason: describe(status, body), category: categoryOf(body) })),
        unconfirmed: [],
      };
      totals.rejected += outcome.rejected.length;
      await spec.settled(outcome);
      return;
    }
    const byKey = new Map(batch.map((item) => [spec.key(item), item]));
    const outcome: BatchOutcome<T> = { ok: [], rejected: [], unconfirmed: [] };
    for (const result of body?.results ?? []) {
      const key = spec.resultKey(result);
      const item = key === undefined ? undefined : byKey.get(key);
      if (item === undefined || key === undefined) continue;
      outcome.ok.push({ item, result });
      byKey.delete(key);
    }
    const transient: T[] = [];
    for (const error of body?.errors ?? []) {
      for (const key of errorKeys(error)) {
        const item = byKey.get(key);
        if (item === undefined) continue;
        byKey.delete(key);
        if (FINAL.test(error.category ?? ""))
          outcome.rejected.push({
            item,
            reason: describeBatchError(error),
            category: error.category ?? null,
          });
        else transient.push(item);
      }
    }
    outcome.unconfirmed.push(...byKey.values());
    if (!retryTransient) outcome.unconfirmed.push(...transient);
    totals.ok += outcome.ok.length;
    totals.rejected += outcome.rejected.length;
    totals.unconfirmed += outcome.unconfirmed.length;
    await spec.settled(outcome);
    for (const item of retryTransient ? transient : []) await run([item], false);
  };
  // A few batches in flight, so recording one batch's results never leaves the budget idle; the
  // shared request budget, not this, decides the pace.
  const batches = inBatches(items);
  let next = 0;
  const worker = async () => {
    while (next < batches.length && !aborted) await run(batches[next++] as T[], true);
  };
  // One failure (HubSpot down, a missing property) stops the others before their next call;
  // every worker has settled before the error reaches the caller.
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(IN_FLIGHT, batches.length) }, () =>
      worker().catch((error: unknown) => {
        aborted = true;
        throw error;
      }),
    ),
  );
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
  return totals;
}

/**
 * The inputs a batch error names: by id (context.ids or context.id) for updates, reads and
 * upserts; by the objectWriteTraceId we sent for creates, which have no id yet.
 */
function errorKeys(error: BatchError): string[] {
  const context = error.context ?? {};
  const keys: string[] = [];
  for (const field of ["ids", "id", "objectWriteTraceId"]) {
    const value = context[field];
    if (Array.isArray(value)) keys.push(...value.filter((v): v is string => typeof v === "string"));
    else if (typeof value === "string") keys.push(value);
  }
  return keys;
}

/** Whether HubSpot refused the call for a property it does not know (the error detail's code). */
function missingProperty(body: unknown): boolean {
  const details = (body as { errors?: unknown } | null)?.errors;
  return (
    Array.isArray(details) &&
    details.some((d) => (d as { code?: unknown } | null)?.code === "PROPERTY_DOESNT_EXIST")
  );
}

function categoryOf(body: unknown): string | null {
  const category = (body as { category?: unknown } | null)?.category;
  return typeof category === "string" ? category : null;
}

function describe(status: number, body: unknown): string {
  const category = categoryOf(body);
  return `${status}${category ? ` ${category}` : ""}: ${errorMessage(body)}`.slice(0, 1000);
}

function describeBatchError(error: BatchError): string {
  return `${error.category ?? "error"}: ${error.message ?? "no message"}`.slice(0, 1000);
}
