import cron from "node-cron";
import { z } from "zod";
import { sourceSchema } from "../sources/source-config.ts";

/**
 * The RevOps config file, as one zod schema: it types the config, produces the error report
 * (every problem, with its path and value) and emits the published JSON Schema.
 * Every object is strict, so a misspelt key is reported instead of silently ignored.
 */

const positiveInt = z
  .number({ error: "expected a positive integer" })
  .int({ error: "expected a positive integer" })
  .positive({ error: "expected a positive integer" });
const nonNegative = z.number({ error: "expected a number >= 0" }).min(0, { error: "expected a number >= 0" });
const fraction = z
  .number({ error: "expected a number from 0 to 1" })
  .min(0, { error: "expected a number from 0 to 1" })
  .max(1, { error: "expected a number from 0 to 1" });
const score100 = z
  .number({ error: "expected a score from 0 to 100" })
  .min(0, { error: "expected a score from 0 to 100" })
  .max(100, { error: "expected a score from 0 to 100" });
const key = z
  .string({ error: "expected a key (lower case letters, digits, _ or -)" })
  .regex(/^[a-z][a-z0-9_-]*$/, { error: "expected a key (lower case letters, digits, _ or -)" });
const text = z.string({ error: "expected text" }).min(1, { error: "expected non-empty text" });
const regex = text.refine(
  (pattern) => {
    try {
      new RegExp(pattern, "i");
      return true;
    } catch {
      return false;
    }
  },
  { error: "expected a valid regular expression" },
);

const signalMatch = z
  .strictObject({
    events: z
      .array(text)
      .optional()
      .describe("track event names that count as this signal (exact, case-sensitive)"),
    pages: z
      .array(text)
      .optional()
      .describe("page paths (properties.path) or names; a trailing * matches any suffix, e.g. /pricing*"),
    screens: z.array(text).optional().describe("screen names (mobile apps)"),
  })
  .refine((m) => (m.events?.length ?? 0) + (m.pages?.length ?? 0) + (m.screens?.length ?? 0) > 0, {
    error: "expected at least one of events, pages or screens",
  });

const signal = z
  .strictObject({
    key: key.describe("stable id, used in reasons, milestones and reports"),
    label: text.describe(
      'plain words for reasons; {count} is replaced by the count in the window, {s} by "s" unless the count is 1: "sent {count} offer letter{s}", "visited pricing {count}x". A reason shows the window only with a count',
    ),
    kind: z
      .enum(["adoption", "intent", "volume", "integration"], {
        error: "expected one of adoption, intent, volume, integration",
      })
      .describe(
        "adoption: feature depth; intent: buying signals (pricing, upgrade prompts, API docs, admin settings); volume: data created (usage-based PQR); integration: connected systems",
      ),
    match: signalMatch,
    weight: nonNegative.describe("relative importance inside its kind"),
    windowDays: positiveInt.default(30).describe("only events this many days before `now` count"),
    saturation: positiveInt
      .default(10)
      .describe("count at which intensity reaches 1 (more adds nothing): depth, not raw volume"),
    tierFeature: z
      .boolean()
      .default(false)
      .describe("a feature gated behind a higher plan: using it raises the PQR estimate"),
  })
  .describe("one product-usage signal");

const persona = z.strictObject({
  key,
  label: text.describe('plain words, e.g. "HR admin"'),
  titlePatterns: z
    .array(regex)
    .default([])
    .describe("case-insensitive regular expressions matched against the user's `title` trait"),
  traitValues: z
    .array(text)
    .default([])
    .describe("values of the user's `persona` or `role` trait that mean this persona (case-insensitive)"),
});

const milestone = z.strictObject({
  key,
  label: text,
  signals: z
    .array(key)
    .min(1, { error: "expected at least one signal key" })
    .describe("any of these signals reaches it"),
  expectedDay: positiveInt.describe("day after first seen by which a healthy account reaches it"),
  coreValue: z
    .boolean()
    .default(false)
    .describe(
      "the action that delivers the core promise: time-to-first-value ends here (exactly one milestone)",
    ),
});

const band = z
  .strictObject({
    min: nonNegative.optional(),
    max: nonNegative.optional(),
    score: fraction.describe("match from 0 (none) to 1 (ideal)"),
  })
  .refine((b) => b.min === undefined || b.max === undefined || b.min <= b.max, {
    error: "expected min <= max",
  });

/** The account trait a criterion reads instead of its built-in field (`hris`, `headcount`). */
const criterionTrait = (builtIn: string) =>
  text
    .optional()
    .describe(
      `read this account trait (its name exactly as sent, case-sensitive) instead of ${builtIn}; missing or of the wrong shape: the criterion is unknown`,
    );

const valueMatch = (builtIn: string) =>
  z.strictObject({
    trait: criterionTrait(builtIn),
    weight: nonNegative,
    values: z.record(z.string(), fraction).describe("value (case-insensitive) -> match from 0 to 1"),
    otherwise: fraction.default(0).describe("match for any other known value"),
  });

const icp = z.strictObject({
  qualifiedAt: score100.default(60).describe("ICP score at or above which an account is ICP-qualified"),
  employees: z
    .strictObject({
      trait: criterionTrait(
        'the employee count (traits employees, employee_count, employeeCount); a number or "1,200"',
      ),
      weight: nonNegative,
      bands: z.array(band).min(1),
    })
    .optional(),
  industry: valueMatch("the industry trait").optional(),
  region: valueMatch("the region trait").optional(),
  techStack: z
    .strictObject({
      trait: criterionTrait('the tech stack (traits tech_stack, techStack); a list or "Gusto, Slack"'),
      weight: nonNegative,
      anyOf: z
        .array(text)
        .min(1)
        .optional()
        .describe(
          "tools (case-insensitive) that make the product more valuable, e.g. an HRIS: any of them is a full match",
        ),
      values: z
        .record(z.string(), fraction)
        .optional()
        .describe(
          "instead of anyOf: tool (case-insensitive) -> match from 0 to 1; the best tool used counts",
        ),
      otherwise: fraction.optional().describe("match for a known stack without any listed tool (default 0)"),
    })
    .refine((t) => (t.anyOf === undefined) !== (t.values === undefined), {
      error: "expected exactly one of anyOf (tools that fit) or values (tool -> match)",
    })
    .optional(),
});

const tiers = z
  .strictObject({
    hot: score100.describe("PQL score at or above which an account is hot (routed to sales)"),
    warm: score100.describe("PQL score at or above which an account is warm (watched)"),
  })
  .refine((t) => t.hot > t.warm, { error: "expected hot > warm" });

const scoring = z.strictObject({
  weights: z
    .strictObject({
      behavioural: nonNegative.describe("feature adoption depth, activation, usage volume"),
      account: nonNegative.describe("active users, personas, integrations, ICP fit"),
      intent: nonNegative.describe("pricing page, upgrade prompts, API docs, admin settings"),
    })
    .refine((w) => w.behavioural + w.account + w.intent > 0, {
      error: "expected at least one weight above 0",
    }),
  components: z
    .strictObject({
      adoptionDepth: nonNegative.default(5).describe("behavioural: weighted intensity of adoption signals"),
      activation: nonNegative.default(3).describe("behavioural: milestones reached and time-to-first-value"),
      usageVolume: nonNegative.default(2).describe("behavioural: intensity of volume signals"),
      activeUsers: nonNegative.default(2.5).describe("account: distinct active users"),
      personas: nonNegative.default(3.5).describe("account: distinct active personas"),
      integrations: nonNegative.default(1.5).describe("account: integration signals"),
      icpFit: nonNegative.default(2.5).describe("account: ICP match"),
    })
    .default({
      adoptionDepth: 5,
      activation: 3,
      usageVolume: 2,
      activeUsers: 2.5,
      personas: 3.5,
      integrations: 1.5,
      icpFit: 2.5,
    })
    .describe("relative weights of the components inside their dimension"),
  activeWindowDays: positiveInt.default(30).describe("window for active users, personas and active days"),
  multiPersona: z
    .strictObject({
      strongAt: positiveInt.default(3).describe("distinct active personas that count as a strong signal"),
    })
    .default({ strongAt: 3 }),
  activeUsersSaturation: positiveInt
    .default(10)
    .describe("active users at which the users component reaches 1"),
  ttfvTargetHours: z
    .number()
    .positive({ error: "expected a positive number of hours" })
    .default(36)
    .describe("time-to-first-value at or under this scores fully; slower decays"),
});

/** A price a PQR model needs: missing, the problem says which model requires it. */
const priceFor = (model: string, what: string) =>
  z
    .number({
      error: (issue) =>
        issue.input === undefined
          ? `expected ${what}, required with model: ${model}`
          : "expected a number >= 0",
    })
    .min(0, { error: "expected a number >= 0" });

/** A price of another model: refused by name rather than silently ignored. */
const notWith = (model: string, usedBy: string) =>
  z
    .never({ error: `not used with model: ${model} (it prices model: ${usedBy})` })
    .optional()
    .describe(`only with model: ${usedBy}`);

/** What every PQR model shares: the add-ons, the uplift, the size multiplier. */
const pqrShared = {
  currency: z.string().length(3, { error: "expected a 3-letter currency code" }).default("USD"),
  tierFeatureUplift: nonNegative
    .default(0.25)
    .describe("extra share of the model's price when tier features are used"),
  usagePricePerUnit: nonNegative
    .default(0)
    .describe(
      "price per unit of `volume` signals, on their counts annualised (count x 365 / windowDays); added to seats and per-employee",
    ),
  unitPrices: z
    .record(key, nonNegative)
    .optional()
    .describe("price per unit of a `volume` signal, by signal key (others use usagePricePerUnit)"),
  companySizeMultipliers: z
    .array(z.strictObject({ minEmployees: nonNegative, multiplier: nonNegative }))
    .default([])
    .describe("largest matching minEmployees applies; larger companies buy more (or, per employee, less)"),
  employeesTrait: text
    .optional()
    .describe(
      'account trait with the employee count (exactly as sent, a number or "1,200"), read by per-employee and the size multiplier; default: the employees firmographic',
    ),
};

const pqr = z.discriminatedUnion(
  "model",
  [
    z
      .strictObject({
        model: z
          .literal("seats")
          .optional()
          .describe(
            "seats (default): active users x projectedSeatExpansion x seatPricePerMonth x 12; per-employee: employees x pricePerEmployeePerMonth x 12 (payroll, benefits); usage: annualised volume x unit prices",
          ),
        seatPricePerMonth: priceFor("seats (the default)", "a price per seat per month"),
        projectedSeatExpansion: z
          .number({
            error: (issue) =>
              issue.input === undefined
                ? "expected a multiplier >= 1, required with model: seats (the default)"
                : "expected a multiplier >= 1",
          })
          .min(1, { error: "expected a multiplier >= 1" })
          .describe("multiplier on active users for the seats a converted account will buy"),
        pricePerEmployeePerMonth: notWith("seats", "per-employee"),
        ...pqrShared,
      })
      .describe("seats x price (the default)"),
    z
      .strictObject({
        model: z.literal("per-employee"),
        pricePerEmployeePerMonth: priceFor("per-employee", "a price per employee per month").describe(
          "price per employee per month; an account whose employee count is unknown is priced on its active users (a lower bound)",
        ),
        seatPricePerMonth: notWith("per-employee", "seats"),
        projectedSeatExpansion: notWith("per-employee", "seats"),
        ...pqrShared,
      })
      .describe("employees x price per employee (payroll, benefits)"),
    z
      .strictObject({
        model: z.literal("usage"),
        seatPricePerMonth: notWith("usage", "seats"),
        projectedSeatExpansion: notWith("usage", "seats"),
        pricePerEmployeePerMonth: notWith("usage", "per-employee"),
        ...pqrShared,
        usagePricePerUnit: priceFor("usage", "a price per unit of volume").describe(
          "price per unit of `volume` signals, on their counts annualised (count x 365 / windowDays)",
        ),
      })
      .describe("annualised volume x unit prices"),
  ],
  {
    error: (issue) =>
      issue.code === "invalid_union" ? "expected model seats, per-employee or usage" : undefined,
  },
);

/** A calendar day, YYYY-MM-DD. */
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: "expected a date such as 2026-12-01" });

const rep = z.strictObject({
  id: key,
  name: text,
  email: z.email({ error: "expected an email address" }),
  slackUserId: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,}$/, { error: "expected a Slack user id such as U024BE7LH" })
    .optional(),
  hubspotOwnerId: z.string().regex(/^\d+$/, { error: "expected a numeric HubSpot owner id" }).optional(),
  pools: z.array(key).min(1, { error: "expected at least one pool key" }),
  capacity: positiveInt.describe("open routed accounts this rep can hold at once"),
  weight: z
    .number({ error: "expected a number > 0" })
    .positive({ error: "expected a number > 0" })
    .default(1)
    .describe("share of the pool's round robin: a rep of weight 2 gets twice the accounts of weight 1"),
  outOfOffice: z
    .array(
      z.strictObject({
        from: isoDate.describe("first day away (YYYY-MM-DD, UTC)"),
        to: isoDate.describe("last day away, included (YYYY-MM-DD, UTC)"),
      }),
    )
    .default([])
    .describe("days the rep gets no new accounts"),
  maxAlertsPerDay: positiveInt.optional().describe("new accounts a day at most, against alert fatigue"),
});

const pool = z.strictObject({
  key,
  label: text,
  match: z
    .strictObject({
      minEmployees: nonNegative.optional(),
      maxEmployees: nonNegative.optional(),
      regions: z.array(text).optional(),
      industries: z
        .array(text)
        .optional()
        .describe("industry trait values this pool takes (case-insensitive)"),
      minPqr: nonNegative.optional(),
    })
    .default({})
    .describe("accounts this pool takes; the first matching pool wins, an empty match takes all"),
  capacity: positiveInt.describe("open routed accounts the whole pool can hold"),
  lead: key
    .optional()
    .describe("rep or manager id mentioned when an account of this pool is escalated (routing.sla)"),
});

const manager = z.strictObject({
  id: key,
  name: text,
  email: z.email({ error: "expected an email address" }),
  slackUserId: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,}$/, { error: "expected a Slack user id such as U024BE7LH" })
    .describe("managers act in Slack, so their Slack user id is required"),
  hubspotOwnerId: z.string().regex(/^\d+$/, { error: "expected a numeric HubSpot owner id" }).optional(),
});

const sla = z.strictObject({
  claimWithinHours: z
    .number({ error: "expected a positive number of hours" })
    .positive({ error: "expected a positive number of hours" })
    .describe(
      "an account still unclaimed this long after routing (or after its last escalation) is escalated",
    ),
  escalate: z
    .enum(["reassign", "lead", "both"], { error: "expected reassign, lead or both" })
    .default("both")
    .describe("reassign: round robin to the next eligible rep; lead: mention the pool's lead; both"),
  maxEscalations: positiveInt.default(2).describe("escalations per routing at most"),
});

const routing = z.strictObject({
  pools: z.array(pool).min(1, { error: "expected at least one pool" }),
  reps: z.array(rep).default([]),
  managers: z
    .array(manager)
    .default([])
    .describe("may claim, snooze or dismiss any pool's accounts in Slack (reps only act on their pools)"),
  sla: sla.optional().describe("escalation of unclaimed accounts; none when absent"),
});

const slackChannel = z.string().regex(/^(#[a-z0-9_-]{1,80}|[CG][A-Z0-9]{2,})$/, {
  error: "expected a channel such as #pql-hot or C024BE91L",
});

/** A channel to post routed accounts to: a name or id, or one with a delivery mode. */
const routedChannel = z.union(
  [
    slackChannel,
    z.strictObject({
      channel: slackChannel,
      mode: z
        .enum(["instant", "digest"], { error: "expected instant or digest" })
        .default("instant")
        .describe("instant: one message per routed account; digest: one message listing unclaimed accounts"),
      digestCron: z
        .string()
        .refine((expr) => cron.validate(expr), { error: "expected a cron expression such as 0 9 * * 1-5" })
        .optional()
        .describe("with mode: digest, when the digest is posted (in schedule.timezone)"),
    }),
  ],
  { error: "expected a channel such as #pql-hot, or {channel, mode, digestCron}" },
);

const slack = z.strictObject({
  channels: z.strictObject({
    hot: routedChannel.describe(
      "where hot accounts are posted with a Claim button (pools without their own)",
    ),
    digest: slackChannel.optional().describe("where the daily summary goes"),
    pools: z
      .record(key, routedChannel)
      .default({})
      .describe("a channel per pool key; pools not listed post to `hot`"),
  }),
  maxAgeHours: positiveInt
    .default(72)
    .describe(
      "a routing not assigned within this long (Slack and HubSpot not run, e.g. before they were connected) expires: no stale account is handed to a rep",
    ),
  shadow: z
    .strictObject({ channel: slackChannel })
    .optional()
    .describe(
      "shadow mode: every message goes to this one channel, nobody is mentioned, nothing is written to HubSpot",
    ),
});

const tierName = z.enum(["hot", "warm", "cold"], { error: "expected hot, warm or cold" });

const hubspot = z.strictObject({
  portalId: z
    .string()
    .regex(/^\d+$/, { error: "expected a numeric HubSpot portal (hub) id" })
    .optional()
    .describe("your HubSpot portal id, for links to companies in task bodies and reports"),
  companies: z
    .strictObject({
      syncTiers: z
        .array(tierName)
        .default(["hot", "warm"])
        .describe(
          "accounts in these tiers are matched to HubSpot companies and written; once matched, an account is kept up to date whatever its tier",
        ),
      createTiers: z
        .array(tierName)
        .default([])
        .describe("unmatched accounts in these tiers become new HubSpot companies; [] never creates"),
      searchAgainAfterHours: positiveInt
        .default(24)
        .describe("an account whose domain matched no company is searched again after this"),
    })
    .prefault({}),
  tasks: z
    .strictObject({
      subject: text
        .default("PQL: {name} is hot (score {score})")
        .describe("task subject; {name}, {domain}, {score}, {tier}, {pqr} and {pool} are replaced"),
      dueInHours: positiveInt.default(24).describe("the task is due this long after the account was routed"),
      maxAgeHours: positiveInt
        .default(72)
        .describe(
          "a routing this old when HubSpot could first be reached gets no task (e.g. made before HubSpot was connected)",
        ),
      priority: z.enum(["LOW", "MEDIUM", "HIGH"], { error: "expected LOW, MEDIUM or HIGH" }).default("HIGH"),
      type: z.enum(["TODO", "CALL", "EMAIL"], { error: "expected TODO, CALL or EMAIL" }).default("TODO"),
      ownerEmail: z
        .email({ error: "expected an email address" })
        .optional()
        .describe("HubSpot owner of tasks not routed to a rep (looked up by email with the owners API)"),
    })
    .prefault({}),
  outcomes: z
    .strictObject({
      from: z
        .enum(["deals", "companyProperty"], { error: "expected deals or companyProperty" })
        .default("deals")
        .describe(
          "deals: a company with a deal in a won stage converted; companyProperty: a company property says so",
        ),
      wonStages: z.array(text).default(["closedwon"]).describe("deal stage ids that count as won"),
      companyProperty: text
        .default("lifecyclestage")
        .describe("with from: companyProperty, the property to read"),
      convertedValues: z
        .array(text)
        .default(["customer"])
        .describe("with from: companyProperty, values that mean converted"),
    })
    .prefault({}),
});

const cooldowns = z.strictObject({
  rerouteAfterHours: positiveInt.default(168).describe("an unclaimed account may be routed again after this"),
  renotifyAfterHours: positiveInt.default(72).describe("a hot account is not re-posted to Slack before this"),
  notAFitDays: positiveInt
    .default(90)
    .describe("an account marked not a fit in Slack is not routed again for this many days"),
});

const schedule = z.strictObject({
  cron: z
    .string()
    .refine((expr) => cron.validate(expr), {
      error: "expected a cron expression such as */15 * * * * (a sixth, seconds field first is allowed)",
    })
    .default("*/15 * * * *")
    .describe("when the worker runs a cycle: score, HubSpot, Slack"),
  outcomesCron: z
    .string()
    .refine((expr) => cron.validate(expr), { error: "expected a cron expression such as 0 6 * * *" })
    .default("0 6 * * *")
    .describe("how often a cycle also reads outcomes (won deals) back from HubSpot"),
  timezone: z
    .string()
    .refine(
      (tz) => {
        try {
          new Intl.DateTimeFormat("en", { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      },
      { error: "expected an IANA time zone such as Europe/Berlin" },
    )
    .default("UTC"),
});

export const configSchema = z
  .strictObject({
    product: z.strictObject({ name: text }),
    source: sourceSchema.optional(),
    signals: z.array(signal).min(1, { error: "expected at least one signal" }),
    personas: z.array(persona).default([]),
    milestones: z.array(milestone).default([]),
    icp,
    scoring,
    tiers,
    pqr,
    routing,
    slack,
    hubspot: hubspot.prefault({}),
    cooldowns: cooldowns.prefault({}),
    schedule: schedule.prefault({}),
  })
  // Cross-references run even when other parts are invalid (`when`), so one report lists every
  // problem; the value may then be partly malformed, hence the defensive reads.
  .superRefine(
    (config, ctx) => {
      const list = <T>(value: T[] | undefined): T[] => (Array.isArray(value) ? value : []);
      const issue = (path: (string | number)[], message: string, input: unknown) =>
        ctx.addIssue({ code: "custom", path, message, input });
      const duplicates = (values: unknown[], where: string[], field = "key") => {
        const seen = new Set<unknown>();
        values.forEach((value, i) => {
          if (typeof value === "string" && seen.has(value))
            issue([...where, i, field], `duplicate ${field}`, value);
          seen.add(value);
        });
      };
      const keys = (items: { key: string }[] | undefined) => list(items).map((item) => item?.key);
      const signals = list(config.signals);
      const milestones = list(config.milestones);
      const pools = list(config.routing?.pools);
      const reps = list(config.routing?.reps);
      duplicates(keys(signals), ["signals"]);
      duplicates(keys(config.personas), ["personas"]);
      duplicates(keys(milestones), ["milestones"]);
      duplicates(keys(pools), ["routing", "pools"]);
      duplicates(
        reps.map((r) => r?.id),
        ["routing", "reps"],
        "id",
      );
      duplicates(
        reps.map((r) => (typeof r?.email === "string" ? r.email.toLowerCase() : undefined)),
        ["routing", "reps"],
        "email",
      );
      const signalKeys = new Set(keys(signals));
      milestones.forEach((m, i) => {
        list(m?.signals).forEach((s, j) => {
          if (typeof s === "string" && !signalKeys.has(s)) {
            issue(
              ["milestones", i, "signals", j],
              `unknown signal, expected one of ${[...signalKeys].join(", ")}`,
              s,
            );
          }
        });
      });
      // Usage is priced on volume signals: unit prices name them, and model usage needs one.
      const volumeKeys = signals.filter((sg) => sg?.kind === "volume").map((sg) => sg.key);
      const unitPrices = config.pqr?.unitPrices;
      if (unitPrices && typeof unitPrices === "object") {
        for (const signalKey of Object.keys(unitPrices)) {
          if (volumeKeys.includes(signalKey)) continue;
          const kind = signals.find((sg) => sg?.key === signalKey)?.kind;
          issue(
            ["pqr", "unitPrices", signalKey],
            `${kind ? `a signal of kind ${kind}` : "unknown signal"}, expected a volume signal${volumeKeys.length > 0 ? `: ${volumeKeys.join(", ")}` : " (the config has none)"}`,
            signalKey,
          );
        }
      }
      if (config.pqr?.model === "usage" && volumeKeys.length === 0)
        issue(["pqr", "model"], "expected at least one signal of kind volume with model: usage", "usage");
      const coreValue = milestones.filter((m) => m?.coreValue === true).length;
      if (milestones.length > 0 && coreValue !== 1) {
        issue(
          ["milestones"],
          `expected exactly one milestone with coreValue: true (time-to-first-value ends there), found ${coreValue}`,
          undefined,
        );
      }
      const managers = list(config.routing?.managers);
      // A person is a rep or a manager, never both: ids and Slack user ids are unique across them.
      const seenIds = new Set(reps.map((r) => r?.id));
      const seenSlack = new Set<unknown>();
      reps.forEach((r, i) => {
        if (typeof r?.slackUserId !== "string") return;
        if (seenSlack.has(r.slackUserId))
          issue(["routing", "reps", i, "slackUserId"], "duplicate slackUserId", r.slackUserId);
        seenSlack.add(r.slackUserId);
      });
      const seenEmails = new Set<string | undefined>(
        reps.map((r) => (typeof r?.email === "string" ? r.email.toLowerCase() : undefined)),
      );
      managers.forEach((m, i) => {
        const email = typeof m?.email === "string" ? m.email.toLowerCase() : undefined;
        if (email !== undefined && seenEmails.has(email))
          issue(["routing", "managers", i, "email"], "duplicate email (already a rep or manager)", m.email);
        seenEmails.add(email);
        if (typeof m?.id === "string" && seenIds.has(m.id))
          issue(["routing", "managers", i, "id"], "duplicate id (already a rep or manager)", m.id);
        seenIds.add(m?.id);
        if (typeof m?.slackUserId === "string" && seenSlack.has(m.slackUserId))
          issue(["routing", "managers", i, "slackUserId"], "duplicate slackUserId", m.slackUserId);
        seenSlack.add(m?.slackUserId);
      });
      const poolKeys = new Set(keys(pools));
      const personIds = new Set([...reps, ...managers].map((p) => p?.id));
      pools.forEach((p, i) => {
        if (typeof p?.lead === "string" && !personIds.has(p.lead))
          issue(["routing", "pools", i, "lead"], "unknown rep or manager id", p.lead);
      });
      const channelPools = config.slack?.channels?.pools;
      if (channelPools && typeof channelPools === "object") {
        for (const [poolKey, ch] of Object.entries(channelPools)) {
          if (!poolKeys.has(poolKey))
            issue(
              ["slack", "channels", "pools", poolKey],
              `unknown pool, expected one of ${[...poolKeys].join(", ")}`,
              poolKey,
            );
          if (typeof ch === "object" && ch?.mode === "digest" && !ch.digestCron)
            issue(
              ["slack", "channels", "pools", poolKey, "digestCron"],
              "expected a cron time with mode: digest",
              ch,
            );
        }
      }
      const hot = config.slack?.channels?.hot;
      if (typeof hot === "object" && hot?.mode === "digest" && !hot.digestCron)
        issue(["slack", "channels", "hot", "digestCron"], "expected a cron time with mode: digest", hot);
      reps.forEach((r, i) => {
        list(r?.pools).forEach((p, j) => {
          if (typeof p === "string" && !poolKeys.has(p)) {
            issue(
              ["routing", "reps", i, "pools", j],
              `unknown pool, expected one of ${[...poolKeys].join(", ")}`,
              p,
            );
          }
        });
        list(r?.outOfOffice).forEach((away, j) => {
          if (typeof away?.from === "string" && typeof away?.to === "string" && away.from > away.to)
            issue(["routing", "reps", i, "outOfOffice", j], "expected from on or before to", away);
        });
      });
    },
    { when: () => true },
  );

export type PqlConfig = z.output<typeof configSchema>;
export type SignalDefinition = PqlConfig["signals"][number];
export type PersonaDefinition = PqlConfig["personas"][number];
export type MilestoneDefinition = PqlConfig["milestones"][number];
export type HubSpotConfig = PqlConfig["hubspot"];
