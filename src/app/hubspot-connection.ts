import type { Settings } from "../config/settings.ts";
import { UsageError } from "../errors.ts";
import { createHubSpotHttp, type HubSpotHttp } from "../integrations/hubspot/hubspot-http.ts";
import { addUsage, usageOn } from "../store/hubspot-store.ts";
import type { Runtime } from "./runtime.ts";

/**
 * Runs `work` with a HubSpot client built from the settings (token required): the request
 * budgets of the settings, with the calls already made today (by any process) counted against
 * the daily budget, and this client's calls recorded when `work` is done, whatever its outcome.
 * A client per job: a long-running process reads the day's usage afresh each time.
 */
export async function withHubSpot<T>(
  rt: Pick<Runtime, "db" | "settings" | "log" | "clock">,
  work: (http: HubSpotHttp) => Promise<T>,
): Promise<T> {
  const { settings, db } = rt;
  const token = hubspotToken(settings);
  const day = new Date(rt.clock.now()).toISOString().slice(0, 10);
  const http = createHubSpotHttp({
    accessToken: token,
    baseUrl: settings.hubspotBaseUrl,
    limits: settings.hubspotLimits,
    usedToday: await usageOn(db, day),
    clock: rt.clock,
    log: rt.log,
  });
  try {
    return await work(http);
  } finally {
    await addUsage(db, day, http.stats.calls);
  }
}

/** The HubSpot token, or a UsageError naming the setting (checked before anything else is done). */
export function hubspotToken(settings: Pick<Settings, "hubspotAccessToken">): string {
  const token = settings.hubspotAccessToken;
  if (!token) {
    throw new UsageError(
      "HUBSPOT_ACCESS_TOKEN is not set",
      "create a HubSpot private app (README: Connecting HubSpot) and set its token; `pql-router hubspot preview` works without one",
    );
  }
  return token;
}
