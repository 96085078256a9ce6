/**
 * The one source of time for jobs, stores and clients: `now()` in epoch milliseconds and
 * `sleep`. Everything that reads the time takes a Clock, so tests (and backtests) control it.
 */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
