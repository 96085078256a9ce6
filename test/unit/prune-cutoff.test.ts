import path from "node:path";
import { describe, expect, it } from "vitest";
import { pruneCutoff } from "../../src/app/jobs/prune.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { historyRead, shortestWindow } from "../../src/config/windows.ts";
import { UsageError } from "../../src/errors.ts";
import { ROOT } from "../helpers/cli.ts";

const shipped = loadConfig(path.join(ROOT, "pql-router.config.yaml")).config;
const DAY = 86_400_000;
const NOW = new Date("2026-11-29T00:00:00Z");
const daysBefore = (d: number, from = NOW) => new Date(from.getTime() - d * DAY);

describe("how far back a prune may cut", () => {
  it("is the longest signal window, or twice the activity window (its trend), whichever is longer", () => {
    // The shipped config: hris_connected looks back 365 days; activity 30 (60 with its trend).
    expect(historyRead(shipped)).toEqual({ days: 365, name: "signal hris_connected" });
    expect(shortestWindow(shipped)).toEqual({ days: 14, name: "signal pricing_page" });
    const shortSignals = structuredClone(shipped);
    for (const s of shortSignals.signals) s.windowDays = 14;
    shortSignals.scoring.activeWindowDays = 45;
    expect(historyRead(shortSignals).days).toBe(90);
  });

  it("cuts --older-than back from now, and refuses a cut inside what scoring reads", () => {
    expect(pruneCutoff(shipped, 400, NOW, daysBefore(0))).toEqual({
      cutoff: daysBefore(400),
      minimumDays: 365,
      heldBack: null,
    });
    expect(pruneCutoff(shipped, 365, NOW, null).cutoff).toEqual(daysBefore(365));
    expect(() => pruneCutoff(shipped, 364, NOW, null)).toThrow(UsageError);
    expect(() => pruneCutoff(shipped, 364, NOW, null)).toThrow(
      "--older-than: 364d is shorter than the history the scoring reads: 365d, signal hris_connected",
    );
  });

  it("holds the cut back to what the last scoring pass still compares with, when that pass is old", () => {
    // Last pass 100 days ago: the next incremental pass compares with 365 days before it.
    const last = daysBefore(100);
    const { cutoff, heldBack } = pruneCutoff(shipped, 400, NOW, last);
    expect(cutoff).toEqual(daysBefore(465));
    expect(heldBack).toContain("the last scoring pass (as of 2026-08-21T00:00:00.000Z)");
  });
});
