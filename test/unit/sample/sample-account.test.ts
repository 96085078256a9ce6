import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load-config.ts";
import { sampleAccount } from "../../../src/sample/sample-account.ts";
import { parseSegmentMessage } from "../../../src/signals/segment-message.ts";
import { ROOT } from "../../helpers/cli.ts";

const end = new Date("2026-11-01T00:00:00Z");

describe("sampleAccount", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    expect(JSON.stringify(sampleAccount(7, 3, 30, end))).toBe(JSON.stringify(sampleAccount(7, 3, 30, end)));
    expect(JSON.stringify(sampleAccount(8, 3, 30, end))).not.toBe(
      JSON.stringify(sampleAccount(7, 3, 30, end)),
    );
  });

  it("writes only valid Segment messages, in time order, none after the end", () => {
    for (let i = 0; i < 50; i++) {
      const account = sampleAccount(1, i, 30, end);
      const stamps = account.messages.map((m) => m.timestamp as string);
      expect(stamps).toEqual([...stamps].sort());
      expect(stamps.every((s) => s <= end.toISOString())).toBe(true);
      for (const m of account.messages) {
        const parsed = parseSegmentMessage(m, { receivedAt: end });
        expect(parsed.ok, JSON.stringify(m)).toBe(true);
      }
    }
  });

  it("emits the events and pages the shipped config's signals name", () => {
    const { config } = loadConfig(path.join(ROOT, "pql-router.config.yaml"));
    const events = new Set<string>();
    const pages = new Set<string>();
    for (let i = 0; i < 300; i++) {
      for (const m of sampleAccount(2, i, 30, end).messages) {
        if (m.type === "track") events.add(m.event as string);
        if (m.type === "page") pages.add((m.properties as { path: string }).path);
      }
    }
    const named = (patterns: string[], seen: Set<string>) =>
      patterns.some((p) => [...seen].some((s) => (p.endsWith("*") ? s.startsWith(p.slice(0, -1)) : s === p)));
    const unseen = config.signals.filter(
      (s) => !named(s.match.events ?? [], events) && !named(s.match.pages ?? [], pages),
    );
    expect(unseen.map((s) => s.key)).toEqual([]);
  });

  it("makes conversion more likely where the literature's drivers are stronger", () => {
    const accounts = Array.from({ length: 3000 }, (_, i) => sampleAccount(11, i, 30, end));
    const rate = (list: typeof accounts) =>
      list.filter((a) => a.outcome.converted).length / Math.max(1, list.length);
    const base = rate(accounts);
    expect(base).toBeGreaterThan(0.04);
    expect(base).toBeLessThan(0.25);
    const multiPersona = accounts.filter((a) => a.hidden.personas >= 3);
    const single = accounts.filter((a) => a.hidden.personas === 1);
    expect(rate(multiPersona)).toBeGreaterThan(2 * rate(single));
    const fit = accounts.filter((a) => a.hidden.icpFit >= 0.7);
    const unfit = accounts.filter((a) => a.hidden.icpFit < 0.4);
    expect(rate(fit)).toBeGreaterThan(rate(unfit));
  });
});
