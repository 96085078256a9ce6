import type { PqlConfig } from "../../config/schema.ts";
import type { StoredCalibration } from "../../store/calibration-store.ts";
import type { Database } from "../../store/database.ts";
import {
  claimedTasks,
  markTasksSent,
  type PendingTask,
  pendingTasks,
  recordTaskOwnerRejected,
  recordTasks,
} from "../../store/hubspot-store.ts";
import { type CrmObject, inBatches, writeInBatches } from "./batch-write.ts";
import { type HubSpotHttp, rejectedAnswer } from "./hubspot-http.ts";
import { resolveOwners } from "./owners.ts";
import { TASK_ROUTING_KEY } from "./property-definitions.ts";
import { routingKey, taskInput } from "./task-payload.ts";

/** Where tasks are created, 100 per call, each with its company association. */
export const TASK_CREATE_PATH = "/crm/v3/objects/tasks/batch/create";

export interface TaskResult {
  created: number;
  /** Sent earlier without a confirmed answer, and found in HubSpot by routing key: recorded, not created again. */
  recovered: number;
  /** Routed accounts whose company is not matched yet: their task waits. */
  waiting: number;
  /** Routings too old for a task when first sent (e.g. made before HubSpot was connected). */
  skipped: number;
  rejected: { accountId: string; reason: string }[];
  unconfirmed: number;
}

/**
 * Creates one HubSpot task per routing decision, exactly once:
 *  1. a decision is marked "sent" in the database (committed) before its create goes out;
 *  2. the create carries the decision's routing key in pql_routing_key and is associated with
 *     the account's company in the same call;
 *  3. a decision marked sent but without a recorded task id (the process died between
 *     HubSpot's answer and our write, or the answer was lost) is first looked up among its
 *     company's tasks: found by routing key, its id is recorded and nothing is created; not
 *     found, it is created.
 * Tasks cannot have a unique-value property (HubSpot offers those on contacts, companies, deals,
 * tickets and custom objects, not on activities), so the lookup reads the company's task
 * associations, a direct read that does not lag like the search index, rather than reading
 * tasks by an idProperty. `calibration` (the current config's, or null) puts the conversion
 * probability in the task body.
 */
export async function syncTasks(
  db: Database,
  http: HubSpotHttp,
  config: PqlConfig,
  now: Date,
  calibration: StoredCalibration | null,
): Promise<TaskResult> {
  const result: TaskResult = {
    created: 0,
    recovered: 0,
    waiting: 0,
    skipped: 0,
    rejected: [],
    unconfirmed: 0,
  };
  const maxAgeMs = config.hubspot.tasks.maxAgeHours * 3_600_000;
  const all = await pendingTasks(db);
  // A routing never sent and older than maxAgeHours gets no task: connecting HubSpot (or a long
  // outage) must not flood reps with overdue tasks for accounts that cooled long ago.
  const stale = all.filter((t) => t.sentAt === null && now.getTime() - t.decidedAt.getTime() > maxAgeMs);
  await recordTasks(
    db,
    stale.map((t) => ({
      decisionId: t.decisionId,
      error: `skipped: routed at ${t.decidedAt.toISOString()}, more than ${config.hubspot.tasks.maxAgeHours} h before it could be sent`,
    })),
  );
  result.skipped = stale.length;
  const pending = all.filter((t) => !stale.includes(t));
  // 3. Look up what may already exist: every decision sent before, among the tasks of the company
  //    its create went to and of its company now. Those a lookup could not settle wait.
  const sent = pending.filter((t) => t.sentAt !== null);
  const { found, unsettled } = await findByRoutingKey(http, sent);
  await recordTasks(
    db,
    sent.flatMap((t) => {
      const taskId = found.get(routingKey(t));
      return taskId ? [{ decisionId: t.decisionId, taskId }] : [];
    }),
  );
  result.recovered = sent.filter((t) => found.has(routingKey(t))).length;
  const open = pending.filter((t) => !found.has(routingKey(t)) && !unsettled.has(t.decisionId));
  result.unconfirmed += pending.filter((t) => unsettled.has(t.decisionId)).length;
  const toCreate = open.filter((t): t is PendingTask & { companyId: string } => t.companyId !== null);
  result.waiting = open.length - toCreate.length;
  if (toCreate.length === 0) return result;
  const owners = await ownersFor(db, http, config, toCreate, now);
  // 1. Committed before anything is sent, with the company the create goes to.
  await markTasksSent(
    db,
    toCreate.map((t) => ({ decisionId: t.decisionId, companyId: t.companyId })),
    now,
  );
  // 2. Create, 100 per call, each with its company association.
  await writeInBatches(http, toCreate, {
    path: TASK_CREATE_PATH,
    creates: true,
    key: (t) => routingKey(t),
    input: (t) => taskInput(t, t.companyId, config.hubspot, owners.get(t.decisionId), calibration),
    resultKey: (r: CrmObject) => r.properties[TASK_ROUTING_KEY] ?? undefined,
    settled: async (outcome) => {
      // A conflict means the task exists: left as sent, the next run finds it among the company's tasks.
      const final = outcome.rejected.filter(({ category }) => category !== "CONFLICT");
      await recordTasks(db, [
        ...outcome.ok.map(({ item, result: r }) => ({
          decisionId: item.decisionId,
          taskId: r.id,
          ownerId: owners.get(item.decisionId) ?? null,
        })),
        ...final.map(({ item, reason }) => ({ decisionId: item.decisionId, error: reason })),
      ]);
      result.created += outcome.ok.length;
      result.rejected.push(...final.map(({ item, reason }) => ({ accountId: item.accountId, reason })));
      result.unconfirmed += outcome.unconfirmed.length + outcome.rejected.length - final.length;
    },
  });
  return result;
}

/** Association and read errors that mean "nothing there", not "could not tell". */
const ABSENT = new Set(["OBJECT_NOT_FOUND"]);

/**
 * Task ids by routing key, for decisions whose create may have been done: the task associations
 * of the companies involved (the one each create went to, and the account's company now), every
 * page of them (v4 batch read, 100 companies a call), then those tasks' routing keys (100 tasks a
 * call). A decision whose companies or tasks could not be read (an error other than "none
 * found") is `unsettled`: neither found nor created this time.
 */
async function findByRoutingKey(
  http: HubSpotHttp,
  tasks: PendingTask[],
): Promise<{ found: Map<string, string>; unsettled: Set<bigint> }> {
  const found = new Map<string, string>();
  const unsettled = new Set<bigint>();
  const companiesOf = (t: PendingTask) =>
    [...new Set([t.sentCompanyId, t.companyId])].filter((c): c is string => c !== null);
  const companies = [...new Set(tasks.flatMap(companiesOf))];
  const unreadable = new Set<string>();
  const taskIds = new Set<string>();
  let inputs: { id: string; after?: string }[] = companies.map((id) => ({ id }));
  while (inputs.length > 0) {
    const next: { id: string; after: string }[] = [];
    for (const batch of inBatches(inputs)) {
      const { status, body } = await http.send<{
        results?: {
          from: { id: string };
          to: { toObjectId: number | string }[];
          paging?: { next?: { after?: string } };
        }[];
        errors?: { category?: string; context?: { fromObjectId?: string[] } }[];
      }>({
        method: "POST",
        path: "/crm/v4/associations/companies/tasks/batch/read",
        body: { inputs: batch },
      });
      if (status !== 200 && status !== 207)
        throw rejectedAnswer("a company-to-task association read", status, body);
      for (const link of body?.results ?? []) {
        for (const to of link.to) taskIds.add(String(to.toObjectId));
        const after = link.paging?.next?.after;
        if (after) next.push({ id: String(link.from.id), after });
      }
      // 207: a company without tasks (NO_ASSOCIATIONS_FOUND) has none of ours; any other error, no telling.
      for (const error of body?.errors ?? []) {
        if (ABSENT.has(error.category ?? "")) continue;
        const named = error.context?.fromObjectId ?? batch.map((b) => b.id);
        for (const id of named) unreadable.add(String(id));
      }
    }
    inputs = next;
  }
  let tasksUnreadable = false;
  for (const ids of inBatches([...taskIds])) {
    const { status, body } = await http.send<{ results?: CrmObject[]; errors?: { category?: string }[] }>({
      method: "POST",
      path: "/crm/v3/objects/tasks/batch/read",
      body: { properties: [TASK_ROUTING_KEY], inputs: ids.map((id) => ({ id })) },
    });
    // 207: a task deleted meanwhile (OBJECT_NOT_FOUND) is not ours to recover.
    if (status !== 200 && status !== 207) throw rejectedAnswer("a task read", status, body);
    if ((body?.errors ?? []).some((e) => !ABSENT.has(e.category ?? ""))) tasksUnreadable = true;
    for (const task of body?.results ?? []) {
      const key = task.properties[TASK_ROUTING_KEY];
      if (key) found.set(key, task.id);
    }
  }
  for (const t of tasks) {
    if (found.has(routingKey(t))) continue;
    if (tasksUnreadable || companiesOf(t).some((c) => unreadable.has(c)) || companiesOf(t).length === 0)
      unsettled.add(t.decisionId);
  }
  return { found, unsettled };
}

/**
 * The HubSpot owner of each task: whoever claimed it in Slack, else its rep (by owner id in
 * config, else by email), else the config's default.
 */
async function ownersFor(
  db: Database,
  http: HubSpotHttp,
  config: PqlConfig,
  tasks: readonly PendingTask[],
  now: Date,
): Promise<Map<bigint, string>> {
  const people = new Map<string, { email: string; hubspotOwnerId?: string | undefined }>(
    [...config.routing.reps, ...config.routing.managers].map((p) => [p.id, p]),
  );
  const fallback = config.hubspot.tasks.ownerEmail;
  const emails = new Set<string>(fallback ? [fallback] : []);
  const personOf = (t: PendingTask) => {
    const id = t.claimerId ?? t.repId;
    return id ? people.get(id) : undefined;
  };
  for (const t of tasks) {
    const person = personOf(t);
    if (person && !person.hubspotOwnerId) emails.add(person.email);
  }
  const byEmail = await resolveOwners(db, http, [...emails], now);
  const owners = new Map<bigint, string>();
  for (const t of tasks) {
    const person = personOf(t);
    const owner =
      person?.hubspotOwnerId ??
      (person ? byEmail.get(person.email.toLowerCase()) : undefined) ??
      (fallback ? byEmail.get(fallback.toLowerCase()) : undefined);
    if (owner) owners.set(t.decisionId, owner);
  }
  return owners;
}

/** Where task owners change after a claim, 100 tasks per call. */
export const TASK_UPDATE_PATH = "/crm/v3/objects/tasks/batch/update";

/**
 * After a claim in Slack the routing task's owner becomes the claimer: tasks whose owner as last
 * written differs from the claimer's are updated in batches. Queued in the database, so a claim
 * made while HubSpot is down reaches the task with the next sync. Returns the tasks updated.
 */
export async function syncTaskOwners(
  db: Database,
  http: HubSpotHttp,
  now: Date,
): Promise<{ updated: number; rejected: { accountId: string; reason: string }[] }> {
  const claimed = await claimedTasks(db);
  const byEmail = await resolveOwners(
    db,
    http,
    claimed.filter((c) => !c.claimerOwnerId).map((c) => c.claimerEmail),
    now,
  );
  const changes = claimed.flatMap((c) => {
    const owner = c.claimerOwnerId ?? byEmail.get(c.claimerEmail.toLowerCase());
    // Not again what is written, nor what HubSpot refused for this task.
    return owner && owner !== c.writtenOwnerId && owner !== c.rejectedOwnerId ? [{ ...c, owner }] : [];
  });
  const result = { updated: 0, rejected: [] as { accountId: string; reason: string }[] };
  await writeInBatches(http, changes, {
    path: TASK_UPDATE_PATH,
    key: (c) => c.taskId,
    input: (c) => ({ id: c.taskId, properties: { hubspot_owner_id: c.owner } }),
    resultKey: (r: CrmObject) => r.id,
    settled: async (outcome) => {
      await recordTasks(
        db,
        outcome.ok.map(({ item }) => ({ decisionId: item.decisionId, ownerId: item.owner })),
      );
      await recordTaskOwnerRejected(
        db,
        outcome.rejected.map(({ item }) => ({ decisionId: item.decisionId, ownerId: item.owner })),
      );
      result.updated += outcome.ok.length;
      result.rejected.push(
        ...outcome.rejected.map(({ item, reason }) => ({ accountId: item.accountId, reason })),
      );
    },
  });
  return result;
}
