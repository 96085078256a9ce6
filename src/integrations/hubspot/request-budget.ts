/**
 * A rolling-window request budget: at most `limit` acquisitions in any `windowMs`. Every HubSpot
 * call takes one slot before it is sent, so the process never exceeds the app's burst limit on
 * its own; a 429 (another process sharing the token) is handled by the caller's backoff.
 * The clock and the sleep are parameters so tests run without waiting.
 */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class RollingWindow {
  private readonly sent: number[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Waits for a free slot, then takes it. Callers are served in order. */
  acquire(): Promise<void> {
    const turn = this.queue.then(() => this.take());
    this.queue = turn;
    return turn;
  }

  /** Holds back every caller until `until` (e.g. after a 429 told us the window is full). */
  pauseUntil(until: number): void {
    // Fill the window with slots that expire at `until`, so nobody is sent before it.
    const expiresAt = until - this.windowMs;
    this.sent.length = 0;
    for (let i = 0; i < this.limit; i++) this.sent.push(expiresAt);
  }

  private async take(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      while (this.sent.length > 0 && (this.sent[0] as number) <= now - this.windowMs) this.sent.shift();
      if (this.sent.length < this.limit) {
        this.sent.push(now);
        return;
      }
      await this.clock.sleep((this.sent[0] as number) + this.windowMs - now + 1);
    }
  }
}
