import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../../src/config/load-config.ts";
import { configSchema } from "../../../src/config/schema.ts";
import { routeNewlyHot } from "../../../src/routing/route-newly-hot.ts";
import type { AccountScore } from "../../../src/signals/score-account.ts";
import { ROOT } from "../../helpers/cli.ts";
import { features } from "../../helpers/scoring.ts";

// Pools in the tests' own config: enterprise (1000+ employees), mid-market (200+), smb (all); hot at 70.
const config = loadConfig(path.join(ROOT, "test/fixtures/full.config.yaml")).config;
const score = (tier: AccountScore["tier"], value = 80): AccountScore =>
  ({ accountId: "acct_t", score: value, tier, pqr: { pqr: 5000 } }) as AccountScore;
const NOW = new Date("2026-11-01T00:00:00Z");
const fresh = { lastRoutedAt: undefined, now: NOW };
const sized = (employees: number | null) =>
  features({
    firmographics: { employees, industry: null, region: null, plan: null, seats: null, techStack: [] },
  });

describe("routeNewlyHot", () => {
  it("routes an account that becomes hot to the first pool whose match fits", () => {
    expect(routeNewlyHot("warm", sized(1500), score("hot"), config, fresh)).toEqual({
      accountId: "acct_t",
      pool: "enterprise",
      reason: "became hot (was warm): score 80 >= 70; pool Enterprise",
    });
    expect(routeNewlyHot("cold", sized(250), score("hot"), config, fresh)?.pool).toBe("mid-market");
    expect(routeNewlyHot(undefined, sized(null), score("hot"), config, fresh)).toMatchObject({
      pool: "smb",
      reason: expect.stringMatching(/^first scored hot/),
    });
  });

  it("does not route an account again within the re-route cooldown (168 h), and does after it", () => {
    const hours = (h: number) => new Date(NOW.getTime() - h * 3_600_000);
    expect(
      routeNewlyHot("warm", sized(50), score("hot"), config, { lastRoutedAt: hours(167), now: NOW }),
    ).toBeNull();
    expect(
      routeNewlyHot("warm", sized(50), score("hot"), config, { lastRoutedAt: hours(168), now: NOW }),
    ).toMatchObject({ pool: "smb" });
  });

  it("does not route an account that stays hot or is not hot", () => {
    expect(routeNewlyHot("hot", sized(1500), score("hot"), config, fresh)).toBeNull();
    expect(routeNewlyHot("cold", sized(1500), score("warm", 50), config, fresh)).toBeNull();
  });
});

describe("the not-a-fit cooldown", () => {
  const days = (d: number) => new Date(NOW.getTime() - d * 86_400_000);
  const route = (cfg: typeof config, notAFitAt: Date) =>
    routeNewlyHot("warm", sized(50), score("hot"), cfg, { lastRoutedAt: undefined, notAFitAt, now: NOW });
  const withDays = (notAFitDays: number) => {
    const copy = structuredClone(config);
    copy.cooldowns.notAFitDays = notAFitDays;
    return copy;
  };

  it("does not route an account marked not a fit within notAFitDays, and does after", () => {
    const ninety = withDays(90);
    expect(route(ninety, days(89))).toBeNull();
    expect(route(ninety, days(91))).toEqual({
      accountId: "acct_t",
      pool: "smb",
      reason: "became hot (was warm): score 80 >= 70; pool SMB",
    });
    // The cooldown is "less than notAFitDays ago": exactly 90 days later it routes again.
    expect(route(ninety, days(90))).toMatchObject({ pool: "smb" });
    expect(route(ninety, new Date(days(90).getTime() + 1))).toBeNull();
    const thirty = withDays(30);
    expect(route(thirty, days(29))).toBeNull();
    expect(route(thirty, days(31))).toMatchObject({ pool: "smb" });
  });

  it("defaults notAFitDays to 90 when the config omits it", () => {
    const raw = parse(fs.readFileSync(path.join(ROOT, "test/fixtures/full.config.yaml"), "utf8")) as {
      cooldowns?: Record<string, unknown>;
    };
    expect(raw.cooldowns).toBeDefined();
    expect(raw.cooldowns && "notAFitDays" in raw.cooldowns).toBe(false);
    const omitted = configSchema.parse(raw);
    expect(omitted.cooldowns.notAFitDays).toBe(90);
    const { cooldowns: _, ...noSection } = raw;
    const noCooldowns = configSchema.parse(noSection);
    expect(noCooldowns.cooldowns.notAFitDays).toBe(90);
    expect(route(omitted, days(89))).toBeNull();
    expect(route(noCooldowns, days(89))).toBeNull();
    expect(route(omitted, days(91))).toMatchObject({ pool: "smb" });
  });

  it("applies both cooldowns: a routing long ago does not lift a recent not-a-fit", () => {
    expect(
      routeNewlyHot("warm", sized(50), score("hot"), config, {
        lastRoutedAt: days(200),
        notAFitAt: days(10),
        now: NOW,
      }),
    ).toBeNull();
  });
});
