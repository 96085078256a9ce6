import { Random } from "./random.ts";

/**
 * One account of a sample world for Hireloop, the example HR-tech product of the shipped
 * config: its company, its users, every Segment message they send, and whether it converted.
 *
 * The outcome is drawn from a hidden propensity driven by the signals the PLG literature names
 * (ICP fit, activation and time-to-first-value, adoption depth, 3+ personas, intent), never from
 * the scorer's config, so later work can measure whether scores predict conversion.
 */

export interface SampleAccount {
  id: string;
  messages: Record<string, unknown>[];
  outcome: { converted: boolean; convertedAt: Date | null; amount: number };
  /** The hidden drivers, for tests and calibration reports; never written to the data set. */
  hidden: { icpFit: number; engagement: number; intent: number; personas: number; propensity: number };
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

const ADJECTIVES = [
  "Blue",
  "Bright",
  "North",
  "Quiet",
  "Rapid",
  "Silver",
  "Summit",
  "True",
  "Vivid",
  "Wild",
  "Clear",
  "Golden",
  "Iron",
  "Lucky",
  "Nova",
  "Prime",
];
const NOUNS = [
  "Harbor",
  "Pine",
  "Falcon",
  "River",
  "Forge",
  "Orbit",
  "Maple",
  "Beacon",
  "Canyon",
  "Ember",
  "Meadow",
  "Atlas",
  "Cedar",
  "Lantern",
  "Quarry",
  "Willow",
];
const SUFFIXES = [
  "Labs",
  "Health",
  "Logistics",
  "Systems",
  "Foods",
  "Partners",
  "Retail",
  "Works",
  "Bank",
  "Studio",
  "Group",
  "Robotics",
];
const INDUSTRIES: [string, number, number][] = [
  // [industry, share of signups, hidden fit]
  ["Technology", 0.22, 1],
  ["Software", 0.12, 1],
  ["Professional Services", 0.1, 0.9],
  ["Healthcare", 0.12, 0.8],
  ["Financial Services", 0.1, 0.8],
  ["Retail", 0.12, 0.5],
  ["Manufacturing", 0.1, 0.5],
  ["Education", 0.06, 0.3],
  ["Hospitality", 0.06, 0.2],
];
const REGIONS: [string, number, number][] = [
  ["NA", 0.42, 1],
  ["EMEA", 0.33, 0.9],
  ["APAC", 0.15, 0.6],
  ["LATAM", 0.1, 0.5],
];
const HRIS = ["BambooHR", "Workday", "HiBob", "Personio", "Rippling", "Gusto"];
const OTHER_TOOLS = ["Slack", "Google Workspace", "Microsoft 365", "Jira", "Salesforce", "Zoom", "Notion"];

type Persona = "hr_admin" | "recruiter" | "hiring_manager" | "people_ops_leader" | "finance";
const TITLES: Record<Persona, string[]> = {
  hr_admin: [
    "HR Manager",
    "HR Generalist",
    "Human Resources Coordinator",
    "People Operations Specialist",
    "HR Administrator",
  ],
  recruiter: [
    "Recruiter",
    "Senior Technical Recruiter",
    "Talent Acquisition Partner",
    "Sourcer",
    "Recruiting Coordinator",
  ],
  hiring_manager: [
    "Engineering Manager",
    "Sales Team Lead",
    "Director of Marketing",
    "Head of Product",
    "Founder",
  ],
  people_ops_leader: ["Chief People Officer", "VP People", "Head of People", "CHRO"],
  finance: ["CFO", "Finance Manager", "Payroll Specialist", "Controller"],
};
const ODD_TITLES = ["Office Wizard", "Chief Happiness Officer", "Generalist", "Intern", ""];
const FIRST = [
  "Ana",
  "Ben",
  "Chen",
  "Dara",
  "Eli",
  "Fatima",
  "Gus",
  "Hana",
  "Ivan",
  "Jo",
  "Kofi",
  "Lea",
  "Mo",
  "Nia",
  "Omar",
  "Pia",
  "Raj",
  "Sara",
  "Tom",
  "Uma",
  "Vic",
  "Wen",
  "Yara",
  "Zoe",
];
const LAST = [
  "Adams",
  "Baker",
  "Costa",
  "Diaz",
  "Evans",
  "Fischer",
  "Garcia",
  "Huang",
  "Ito",
  "Jensen",
  "Khan",
  "Lopez",
  "Moreau",
  "Nowak",
  "Okafor",
  "Park",
  "Rossi",
  "Silva",
  "Tanaka",
  "Weber",
];

/** What each persona does in the product: [event or page, relative rate]. */
const HABITS: Record<Persona, [string, number][]> = {
  hr_admin: [
    ["Employees Imported", 0.05],
    ["Workflow Configured", 0.25],
    ["Template Created", 0.2],
    ["Report Run", 0.5],
    ["page:/settings/admin", 0.3],
    ["Teammate Invited", 0.15],
  ],
  recruiter: [
    ["Candidate Added", 4],
    ["Interview Scheduled", 1.2],
    ["Offer Letter Sent", 0.5],
    ["Template Created", 0.1],
  ],
  hiring_manager: [
    ["Interview Scheduled", 0.6],
    ["Candidate Added", 0.6],
    ["Offer Letter Sent", 0.15],
  ],
  people_ops_leader: [
    ["Report Run", 0.6],
    ["Survey Launched", 0.2],
    ["Advanced Analytics Viewed", 0.4],
    ["page:/pricing", 0.3],
  ],
  finance: [
    ["Report Run", 0.4],
    ["page:/settings/billing", 0.3],
    ["page:/pricing", 0.4],
  ],
};
const NOISE = [
  "page:/dashboard",
  "page:/jobs",
  "page:/candidates",
  "App Opened",
  "Search Performed",
  "Notification Clicked",
];

export function sampleAccount(seed: number, index: number, days: number, end: Date): SampleAccount {
  const rng = new Random(seed, index);
  const id = `acct_${String(index + 1).padStart(6, "0")}`;
  const endMs = end.getTime();
  const startMs = endMs - days * DAY;

  // Company and hidden ICP fit.
  const name = `${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)} ${rng.pick(SUFFIXES)}`;
  const domain = `${name.toLowerCase().replace(/[^a-z]+/g, "")}${index + 1}.example`;
  const [industry, , industryFit] = rng.weighted(INDUSTRIES.map((row) => [row, row[1]] as const));
  const [region, , regionFit] = rng.weighted(REGIONS.map((row) => [row, row[1]] as const));
  const employees = Math.max(3, Math.round(Math.exp(3.2 + 1.6 * rng.normal() + 0.8)));
  const sizeFit =
    employees >= 200 && employees <= 2000 ? 1 : employees >= 50 && employees <= 10000 ? 0.6 : 0.2;
  const hasHris = rng.chance(0.15 + 0.45 * sizeFit);
  const techStack = [...(hasHris ? [rng.pick(HRIS)] : []), ...OTHER_TOOLS.filter(() => rng.chance(0.3))];
  const icpFit = 0.35 * sizeFit + 0.2 * industryFit + 0.15 * regionFit + 0.3 * (hasHris ? 1 : 0);
  const firmographicsKnown = rng.chance(0.9);

  // Hidden engagement (how seriously they evaluate) and intent (how close to buying).
  const engagement = clamp01(0.15 + 0.45 * icpFit + 0.28 * rng.normal() + 0.1 * rng.next());
  const intent = clamp01(0.5 * engagement + 0.2 * icpFit + 0.25 * rng.normal());

  const signupMs = startMs + Math.floor(rng.next() * (days - 1) * DAY) + 9 * HOUR;
  const messages: Record<string, unknown>[] = [];
  let seq = 0;
  const context = (withGroup: boolean) => ({
    library: { name: "analytics.js", version: "5.2.0" },
    ...(withGroup ? { groupId: id } : {}),
  });
  const emit = (message: Record<string, unknown>, at: number) => {
    if (at > endMs) return;
    messages.push({ messageId: `${id}-${seq++}`, ...message, timestamp: new Date(at).toISOString() });
  };

  // Users: how many show up depends on engagement and company size; personas follow.
  const maxUsers = Math.min(40, 2 + Math.floor(Math.log2(employees)));
  const userCount = Math.max(
    1,
    Math.min(maxUsers, 1 + rng.poisson(engagement * 6 + (employees > 500 ? 2 : 0))),
  );
  const personaPool: [Persona, number][] = [
    ["hr_admin", 3],
    ["recruiter", 3],
    ["hiring_manager", 3 * engagement],
    ["people_ops_leader", 1.5 * engagement * icpFit],
    ["finance", 1.2 * intent],
  ];
  const users = Array.from({ length: userCount }, (_, u) => {
    const persona: Persona =
      u === 0 ? rng.pick<Persona>(["hr_admin", "recruiter"]) : rng.weighted(personaPool);
    const first = rng.pick(FIRST);
    const last = rng.pick(LAST);
    const joinMs = u === 0 ? signupMs : signupMs + Math.floor(rng.next() * rng.next() * (endMs - signupMs));
    const title = rng.chance(0.08) ? rng.pick(ODD_TITLES) : rng.pick(TITLES[persona]);
    return { id: `${id}_u${u + 1}`, persona, first, last, joinMs, title, anonymousId: `anon_${id}_${u + 1}` };
  });
  const activePersonas = new Set(users.map((u) => u.persona)).size;

  // The founding user arrives anonymously (pricing, docs), then signs up and is aliased.
  const founder = users[0] as (typeof users)[number];
  if (rng.chance(0.5)) {
    emit(
      {
        type: "page",
        anonymousId: founder.anonymousId,
        name: "Pricing",
        properties: { path: "/pricing" },
        context: context(false),
      },
      signupMs - 40 * 60_000,
    );
    emit({ type: "alias", previousId: founder.anonymousId, userId: founder.id }, signupMs - 1000);
  }
  const groupTraits: Record<string, unknown> = {
    name,
    plan: rng.weighted([
      ["free", 6],
      ["trial", 3],
      ["starter", 1],
    ] as const),
    seats: userCount,
  };
  if (firmographicsKnown)
    Object.assign(groupTraits, {
      domain,
      website: `https://www.${domain}`,
      employees,
      industry,
      region,
      tech_stack: techStack,
    });
  for (const user of users) {
    const traits: Record<string, unknown> = {
      email: `${user.first.toLowerCase()}.${user.last.toLowerCase()}@${domain}`,
      name: `${user.first} ${user.last}`,
      createdAt: new Date(user.joinMs).toISOString(),
    };
    if (user.title) traits.title = user.title;
    emit({ type: "identify", userId: user.id, traits, context: context(false) }, user.joinMs);
    emit(
      {
        type: "group",
        userId: user.id,
        groupId: id,
        traits: user === founder ? groupTraits : { name },
        context: context(false),
      },
      user.joinMs + 500,
    );
  }

  // Activation: milestones reached with a probability and speed set by engagement.
  const speed = 0.25 + 2.5 * (1 - engagement) * (0.5 + rng.next()); // days per milestone step
  const milestoneEvents: [string, number][] = [
    [hasHris && rng.chance(0.7) ? "HRIS Connected" : "Employees Imported", 0.55 + 0.4 * engagement],
    ["Workflow Configured", 0.4 + 0.5 * engagement],
    ["Teammate Invited", userCount > 1 ? 0.95 : 0.2],
    [founder.persona === "recruiter" ? "Offer Letter Sent" : "Report Run", 0.3 + 0.6 * engagement],
  ];
  let reached = 0;
  let ttfvHours: number | null = null;
  let at = signupMs;
  for (const [event, p] of milestoneEvents) {
    if (!rng.chance(p)) break;
    at += Math.floor(speed * DAY * (0.3 + rng.next()));
    const properties: Record<string, unknown> =
      event === "Employees Imported"
        ? { count: Math.min(employees, rng.int(5, 800)) }
        : event === "HRIS Connected"
          ? { provider: techStack[0] }
          : {};
    emit({ type: "track", userId: founder.id, event, properties, context: context(true) }, at);
    reached++;
    if (reached === 4) ttfvHours = (at - signupMs) / HOUR;
  }
  const activated = reached >= 3;

  // Everyday use: each user is active on some days and acts by persona; depth grows with engagement.
  let depthEvents = 0;
  for (const user of users) {
    const activeDays = (endMs - user.joinMs) / DAY;
    const dayRate = (activated ? 0.55 : 0.2) * engagement + 0.05;
    for (let d = 0; d < activeDays; d++) {
      if (!rng.chance(dayRate)) continue;
      const dayMs = user.joinMs + d * DAY + rng.int(0, 8) * HOUR;
      for (const [habit, rate] of HABITS[user.persona]) {
        const count = rng.poisson(rate * (0.4 + engagement) * (activated ? 1 : 0.4));
        for (let k = 0; k < count; k++) {
          const t = dayMs + rng.int(0, 9 * 60) * 60_000;
          if (habit.startsWith("page:")) {
            const path = habit.slice(5);
            emit(
              {
                type: "page",
                userId: user.id,
                name: pageName(path),
                properties: { path, url: `https://app.hireloop.example${path}` },
                context: context(true),
              },
              t,
            );
          } else {
            emit(
              {
                type: "track",
                userId: user.id,
                event: habit,
                properties: {},
                context: context(rng.chance(0.9)),
              },
              t,
            );
            depthEvents++;
          }
        }
      }
      for (let k = rng.poisson(2); k > 0; k--) {
        const noise = rng.pick(NOISE);
        const t = dayMs + rng.int(0, 9 * 60) * 60_000;
        if (noise.startsWith("page:"))
          emit(
            { type: "page", userId: user.id, properties: { path: noise.slice(5) }, context: context(true) },
            t,
          );
        else
          emit(
            {
              type: "track",
              userId: user.id,
              event: noise,
              properties: {},
              context: context(rng.chance(0.8)),
            },
            t,
          );
      }
    }
  }

  // Intent: pricing, upgrade prompts, API docs, admin settings, concentrated near the end.
  const intentEvents = rng.poisson(intent * intent * 8);
  for (let k = 0; k < intentEvents; k++) {
    const user = rng.pick(users);
    const t = Math.max(user.joinMs, endMs - Math.floor(rng.next() * rng.next() * 20 * DAY));
    const kind = rng.weighted([
      ["/pricing", 4],
      ["upgrade", 3],
      ["/docs/api", 1.5],
      ["/settings/billing", 1.5],
    ] as const);
    if (kind === "upgrade")
      emit(
        {
          type: "track",
          userId: user.id,
          event: "Upgrade Prompt Clicked",
          properties: { feature: "surveys" },
          context: context(true),
        },
        t,
      );
    else
      emit(
        {
          type: "page",
          userId: user.id,
          name: pageName(kind),
          properties: { path: kind },
          context: context(true),
        },
        t,
      );
  }

  // Hidden propensity: the literature's drivers, with noise.
  const ttfvFast = ttfvHours !== null && ttfvHours <= 36 ? 1 : ttfvHours !== null ? 0.4 : 0;
  const depth = Math.min(1, depthEvents / (40 + 10 * userCount));
  const logit =
    -5.3 +
    1.6 * icpFit +
    0.9 * (reached / 4) +
    0.6 * ttfvFast +
    1.0 * depth +
    1.0 * (activePersonas >= 3 ? 1 : 0) +
    2.0 * intent +
    0.5 * rng.normal();
  const propensity = 1 / (1 + Math.exp(-logit));
  // A converting account converts once its usage has shown: at a random time in the last 70% of
  // its life so far (3 days after signup at the earliest). Conversions are spread through history,
  // after the drivers, so a backtest finds outcomes after every point and the score before them.
  const converted = rng.chance(propensity);
  const convertMs = converted
    ? Math.max(signupMs + 3 * DAY, signupMs + Math.floor((0.3 + 0.7 * rng.next()) * (endMs - signupMs)))
    : Number.POSITIVE_INFINITY;
  const convertedAt = converted ? new Date(convertMs) : null;
  const amount = converted
    ? Math.round(userCount * 1.5 * 15 * 12 * (employees >= 1000 ? 1.8 : employees >= 200 ? 1.3 : 1))
    : 0;

  messages.sort((a, b) => (a.timestamp as string).localeCompare(b.timestamp as string));
  return {
    id,
    messages,
    outcome: { converted, convertedAt, amount },
    hidden: { icpFit, engagement, intent, personas: activePersonas, propensity },
  };
}

function pageName(path: string): string {
  const names: Record<string, string> = {
    "/pricing": "Pricing",
    "/docs/api": "API Reference",
    "/settings/billing": "Billing Settings",
    "/settings/admin": "Admin Settings",
  };
  return names[path] ?? "Page";
}

function clamp01(x: number): number {
  return Math.max(0, Math.min(1, x));
}
