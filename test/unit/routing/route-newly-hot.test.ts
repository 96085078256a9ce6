import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load-config.ts";
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
