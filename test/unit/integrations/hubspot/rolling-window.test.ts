import { describe, expect, it } from "vitest";
import type { Clock } from "../../../../src/clock.ts";
import { RollingWindow } from "../../../../src/integrations/hubspot/rolling-window.ts";

/** A clock that only moves when someone sleeps. */
function fakeClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe("RollingWindow", () => {
  it("lets `limit` requests through at once, then waits until the oldest leaves the window", async () => {
    const clock = fakeClock();
    const window = new RollingWindow(3, 10_000, clock);
    for (let i = 0; i < 3; i++) (await window.acquire())();
    expect(clock.now()).toBe(0);
    await window.acquire();
    expect(clock.now()).toBe(10_001);
  });

  it("counts a request from when its answer arrived, never ahead of HubSpot's window", async () => {
    const clock = fakeClock();
    const window = new RollingWindow(1, 10_000, clock);
    const answered = await window.acquire();
    await clock.sleep(2_000); // the request takes 2 s
    answered();
    await window.acquire();
    expect(clock.now()).toBe(12_001);
  });

  it("pauses every caller after a 429 and still counts what was sent before the pause", async () => {
    const clock = fakeClock();
    const window = new RollingWindow(2, 10_000, clock);
    (await window.acquire())();
    (await window.acquire())();
    window.pauseUntil(1_000);
    await window.acquire();
    // Not at 1 s: both earlier requests are still in the window until 10 s.
    expect(clock.now()).toBe(10_001);
  });

  it("serves callers in order", async () => {
    const window = new RollingWindow(1, 50, {
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    const order: number[] = [];
    await Promise.all(
      [1, 2, 3].map(async (i) => {
        (await window.acquire())();
        order.push(i);
      }),
    );
    expect(order).toEqual([1, 2, 3]);
  });
});
