import { CronExpressionParser } from "cron-parser";

/**
 * Times of a cron schedule in a time zone (cron-parser), for the jobs that run "once per
 * scheduled time" (digests, outcomes) and the worker's readiness. Pure: `now` is passed in.
 */

/** The latest time the schedule fired at or before `now`. */
export function latestCronTime(expr: string, timezone: string, now: Date): Date {
  return CronExpressionParser.parse(expr, { currentDate: new Date(now.getTime() + 1), tz: timezone })
    .prev()
    .toDate();
}

/** The time between two runs of the schedule (from its next two times after `now`). */
export function cronIntervalMs(expr: string, timezone: string, now: Date): number {
  const it = CronExpressionParser.parse(expr, { currentDate: now, tz: timezone });
  const a = it.next().getTime();
  return it.next().getTime() - a;
}
