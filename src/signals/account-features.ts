/**
 * What the database aggregates about one account as of `now`: the only input scoring needs.
 * Plain data, so the scoring core is a pure function of it, the config and `now`.
 */
export interface AccountFeatures {
  accountId: string;
  name: string | null;
  domain: string | null;
  firmographics: Firmographics;
  /** First and last product event (any message) at or before `now`. */
  firstSeenAt: Date | null;
  lastSeenAt: Date | null;
  /** Distinct users with a product event in the active window. */
  activeUsers: number;
  /** Persona keys of those users, distinct, sorted. */
  personas: string[];
  /** Active users whose persona is not known (no title or trait that maps to one). */
  usersWithoutPersona: number;
  /** Distinct days with a product event in the active window. */
  activeDays: number;
  /** Product events in the active window, and in the window before it (the trend). */
  events: number;
  previousEvents: number;
  /** Per signal key (matched at or before now): events in its window and the first time ever (<= now). */
  signals: Record<string, SignalFeature>;
}

export interface Firmographics {
  employees: number | null;
  industry: string | null;
  region: string | null;
  plan: string | null;
  seats: number | null;
  techStack: string[];
  /** Every trait the account was sent (group calls), by name: what named ICP criteria read. */
  traits?: Record<string, unknown>;
}

export interface SignalFeature {
  count: number;
  /** Events in the window before its window: not scored, so read only when asked for (`explain`). */
  previousCount?: number;
  firstAt: Date | null;
}

export const NO_SIGNAL: SignalFeature = { count: 0, previousCount: 0, firstAt: null };
