import path from "node:path";
import { describe, expect, it } from "vitest";
import { configWarnings, staleDataWarning, unreachablePoints } from "../../../src/config/config-warnings.ts";
import { loadConfig } from "../../../src/config/load-config.ts";
import { ROOT } from "../../helpers/cli.ts";

const shipped = loadConfig(path.join(ROOT, "pql-router.config.yaml")).config;

describe("config warnings", () => {
  it("finds nothing unreachable in the shipped config", () => {
    expect(unreachablePoints(shipped)).toEqual([]);
    expect(configWarnings(shipped)).toEqual([]);
  });

  it("names a component whose points nothing can earn, with its share of the score", () => {
    const c = structuredClone(shipped);
    c.signals = c.signals.filter((s) => s.kind !== "intent" && s.kind !== "integration");
    c.milestones = [];
    // weights 45/30/25: intent is the whole intent dimension, 25 points. Integrations is 1.5 of the
    // account dimension's 2.5 + 3.5 + 1.5 + 2.5 = 10 parts: 30 x 1.5/10 = 4.5 points. Activation
    // is 3 of the behavioural dimension's 5 + 3 + 2 = 10: 45 x 3/10 = 13.5.
    const byName = Object.fromEntries(unreachablePoints(c).map((u) => [u.component, u.points]));
    expect(byName.intent).toBe(25);
    expect(byName.integrations).toBe(4.5);
    expect(byName.activation).toBe(13.5);
    expect(configWarnings(c)[0]).toMatch(/^\d+(\.\d)? points of the score can never be reached: component /);
  });

  it("warns when the newest event is older than the shortest window, with the --at to use", () => {
    const now = new Date("2026-11-29T12:00:00Z");
    // The shipped config's shortest window: 14 days (the intent signals).
    expect(staleDataWarning(new Date("2026-11-20T00:00:00Z"), now, shipped)).toBeNull();
    const stale = staleDataWarning(new Date("2026-09-30T08:00:00Z"), now, shipped);
    expect(stale).toContain("is 60 days before 2026-11-29T12:00:00.000Z");
    expect(stale).toContain("older than the shortest window (14 days, signal pricing_page)");
    expect(stale).toContain("add --at 2026-09-30");
    expect(staleDataWarning(null, now, shipped)).toBeNull();
  });
});
