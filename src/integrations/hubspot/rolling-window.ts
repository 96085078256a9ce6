import { type Clock, systemClock } from "../../clock.ts";

/**
 * A rolling-window request budget: at most `limit` requests in any `windowMs`. Every HubSpot
 * call takes a slot before it is sent and stamps it again when its answer arrives, so our
 * window never runs ahead of HubSpot's (which counts a request when it receives it, somewhere
 * between the two): the process never exceeds the app's burst limit on its own. A 429 (another
 * process sharing the token) pauses every caller. The clock is a parameter so tests run without
 * waiting.
 */
export class RollingWindow {
  /** When each request of the current window was sent, or answered once it was. */
  private readonly slots: { at: number }[] = [];
  private pausedUntil = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Waits for a free slot and takes it; call the returned function when the answer arrives. Callers are served in order. */
  acquire(): Promise<() => void> {
    const turn = this.queue.then(() => this.take());
    this.queue = turn;
    return turn;
  }

  /** Holds back every caller until `until`; what was sent before still counts after it. */
  pauseUntil(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  private async take(): Promise<() => void> {
    for (;;) {
      const now = this.clock.now();
      if (now < this.pausedUntil) {
        await this.clock.sleep(this.pausedUntil - now);
        continue;
      }
      let oldest = Number.POSITIVE_INFINITY;
      for (let i = this.slots.length - 1; i >= 0; i--) {
        const at = (this.slots[i] as { at: number }).at;
        if (at <= now - this.windowMs) this.slots.splice(i, 1);
        else oldest = Math.min(oldest, at);
      }
      if (this.slots.length < this.limit) {
        const slot = { at: now };
        this.slots.push(slot);
        return () => {
          slot.at = this.clock.now();
        };
      }
      await this.clock.sleep(oldest + this.windowMs - now + 1);
    }
  }
}
