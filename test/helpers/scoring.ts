import fs from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/load-config.ts";
import { configSchema, type PqlConfig } from "../../src/config/schema.ts";
import type { AccountFeatures } from "../../src/signals/account-features.ts";
import { ROOT } from "./cli.ts";

/** The hand-computable config of test/fixtures/scoring.config.yaml. */
export const SCORING_CONFIG = loadConfig(path.join(ROOT, "test/fixtures/scoring.config.yaml")).config;

/** The scoring config with whole sections replaced (as they would be written in the file), validated. */
export function scoringConfigWith(sections: Record<string, unknown>): PqlConfig {
  const file = path.join(ROOT, "test/fixtures/scoring.config.yaml");
  return configSchema.parse({ ...parse(fs.readFileSync(file, "utf8")), ...sections });
}

export const NOW = new Date("2026-11-01T12:00:00Z");
export const HOUR = 3_600_000;

/** An account with nothing known and nothing done; tests override what they need. */
export function features(overrides: Partial<AccountFeatures> = {}): AccountFeatures {
  return {
    accountId: "acct_t",
    name: null,
    domain: null,
    firmographics: { employees: null, industry: null, region: null, plan: null, seats: null, techStack: [] },
    firstSeenAt: null,
    lastSeenAt: null,
    activeUsers: 0,
    personas: [],
    usersWithoutPersona: 0,
    activeDays: 0,
    events: 0,
    previousEvents: 0,
    signals: {},
    ...overrides,
  };
}
