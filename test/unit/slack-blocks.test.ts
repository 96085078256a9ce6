import type { types } from "@slack/bolt";
import { describe, expect, it } from "vitest";
import {
  ACTIONS,
  type AlertView,
  accountSummary,
  alertMessage,
  type Block,
  claimedElsewhereText,
  type DigestItem,
  digestMessage,
  LIMITS,
  notAllowedText,
  type Person,
  parseOptionValue,
  type SlackMessage,
  slackTime,
  textPreview,
  truncateText,
} from "../../src/integrations/slack/blocks.ts";

// 2026-11-01T09:00:00Z = 20,758 days after the epoch (56 years with 14 leap days, then Jan-Oct
// 2026: 304 days) + 9 h: 20758 * 86400 + 32400.
const routedAt = new Date("2026-11-01T09:00:00Z");
const ROUTED_UNIX = 1793523600;
const minutes = (n: number) => new Date(routedAt.getTime() + n * 60_000);
const ana: Person = { name: "Ana Ruiz", slackUserId: "U0ANA" };
const lee: Person = { name: "Lee Park", slackUserId: "U0LEE" };

function view(overrides: Partial<AlertView> = {}): AlertView {
  return {
    decisionId: "42",
    accountId: "acct_000042",
    name: "Acme Corp",
    domain: "acme.example",
    tier: "hot",
    score: 87.4,
    probability: null,
    pqr: 41250.4,
    currency: "USD",
    icp: 72,
    reasons: ["4 personas active in 30 days", "visited pricing 3x in 14 days"],
    personas: ["HR admin", "Finance lead"],
    pool: { key: "mid-market", label: "Mid-market" },
    assignee: ana,
    unassignedReason: null,
    hubspotUrl: "https://app.hubspot.com/contacts/123/company/9001",
    routedAt,
    mention: true,
    shadow: false,
    escalations: null,
    state: { kind: "open" },
    ...overrides,
  };
}

function blocksOf<T extends Block["type"]>(message: SlackMessage, type: T): Extract<Block, { type: T }>[] {
  return message.blocks.filter((b): b is Extract<Block, { type: T }> => b.type === type);
}

/**
 * Every text Slack parses for mentions and links: the notification text and mrkdwn objects.
 * (plain_text is shown literally, so the header keeps "<!channel>" as harmless characters.)
 */
function mrkdwnTexts(message: SlackMessage): string[] {
  const texts = [message.text];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === "object") {
      const o = node as Record<string, unknown>;
      if (o.type === "mrkdwn" && typeof o.text === "string") texts.push(o.text);
      Object.values(o).forEach(visit);
    }
  };
  visit(message.blocks);
  return texts;
}

/** Every Block Kit limit we rely on, checked on any JSON tree of blocks. Returns the violations. */
function limitViolations(blocks: unknown[]): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, path: string, what: string) => {
    if (!ok) problems.push(`${path}: ${what}`);
  };
  const len = (v: unknown) => (typeof v === "string" ? v.length : -1);
  const textOf = (v: unknown) => (v as { text?: unknown } | undefined)?.text;
  check(blocks.length <= LIMITS.blocks, "blocks", `${blocks.length} blocks`);
  check(JSON.stringify(blocks).length < LIMITS.total, "blocks", "serialised size");
  const visit = (node: unknown, path: string): void => {
    if (Array.isArray(node)) {
      for (const [i, n] of node.entries()) visit(n, `${path}[${i}]`);
      return;
    }
    if (!node || typeof node !== "object") return;
    const o = node as Record<string, unknown>;
    if ("block_id" in o) check(len(o.block_id) >= 1 && len(o.block_id) <= LIMITS.blockId, path, "block_id");
    if ("action_id" in o)
      check(len(o.action_id) >= 1 && len(o.action_id) <= LIMITS.actionId, path, "action_id");
    if (o.type === "plain_text" || o.type === "mrkdwn") {
      check(len(o.text) >= 1 && len(o.text) <= LIMITS.sectionText, path, "text object length");
      check(
        !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(String(o.text)),
        path,
        "lone surrogate",
      );
    }
    switch (o.type) {
      case "header":
        check(len(textOf(o.text)) <= LIMITS.header, path, "header text");
        break;
      case "section": {
        if (o.text !== undefined) check(len(textOf(o.text)) <= LIMITS.sectionText, path, "section text");
        const fields = (o.fields ?? []) as unknown[];
        check(fields.length <= LIMITS.fields, path, "field count");
        for (const f of fields) check(len(textOf(f)) <= LIMITS.fieldText, path, "field text");
        break;
      }
      case "context":
        check((o.elements as unknown[]).length <= LIMITS.contextElements, path, "context elements");
        break;
      case "button":
        check(len(textOf(o.text)) <= LIMITS.buttonText, path, "button text");
        if ("value" in o) check(len(o.value) <= LIMITS.buttonValue, path, "button value");
        if ("url" in o) check(len(o.url) <= LIMITS.url, path, "button url");
        break;
      case "static_select":
        check(len(textOf(o.placeholder)) <= 150, path, "placeholder");
        for (const opt of o.options as { text: unknown; value: unknown }[]) {
          check(len(textOf(opt.text)) <= LIMITS.optionText, path, "option text");
          check(len(opt.value) >= 1 && len(opt.value) <= LIMITS.optionValue, path, "option value");
        }
        break;
    }
    for (const [key, value] of Object.entries(o)) visit(value, `${path}.${key}`);
  };
  visit(blocks, "blocks");
  return problems;
}

describe("alertMessage", () => {
  it("builds a normal open alert: header, mention, score line, the three controls, the HubSpot link", () => {
    const message = alertMessage(view());
    // Our blocks are Slack's blocks: this line does not compile if the shapes drift apart.
    const known: types.KnownBlock[] = message.blocks;
    expect(known.map((b) => b.type)).toEqual(["header", "section", "section", "context", "actions"]);
    expect(message.text).toBe("Acme Corp is hot (score 87) — assigned to <@U0ANA>");
    expect(message.blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "Acme Corp is hot", emoji: true },
    });
    const [summary, why] = blocksOf(message, "section");
    expect(summary?.text?.text).toBe(
      "*acme.example*\n" +
        "Score 87 (hot) · PQR $41,250 · ICP 72\n" +
        `Pool: Mid-market · routed <!date^${ROUTED_UNIX}^{date_short_pretty} {time}|2026-11-01 09:00 UTC>\n` +
        "Assigned to <@U0ANA>",
    );
    expect(why?.text?.text).toBe(
      "*Why now*\n• 4 personas active in 30 days\n• visited pricing 3x in 14 days",
    );
    expect(blocksOf(message, "context")[0]?.elements.map((e) => e.text)).toEqual([
      "*Active:* HR admin, Finance lead",
      "<https://app.hubspot.com/contacts/123/company/9001|View in HubSpot>",
    ]);
    const [actions] = blocksOf(message, "actions");
    expect(actions?.block_id).toBe("pql_actions:42");
    expect(actions?.elements).toEqual([
      {
        type: "button",
        action_id: "pql_claim",
        text: { type: "plain_text", text: "Claim" },
        style: "primary",
        value: "42",
      },
      {
        type: "static_select",
        action_id: "pql_snooze",
        placeholder: { type: "plain_text", text: "Snooze" },
        options: [
          { text: { type: "plain_text", text: "1 day" }, value: "42:1d" },
          { text: { type: "plain_text", text: "3 days" }, value: "42:3d" },
          { text: { type: "plain_text", text: "1 week" }, value: "42:7d" },
        ],
      },
      {
        type: "static_select",
        action_id: "pql_not_a_fit",
        placeholder: { type: "plain_text", text: "Not a fit" },
        options: [
          { text: { type: "plain_text", text: "Not our ICP" }, value: "42:not-icp" },
          { text: { type: "plain_text", text: "Existing customer" }, value: "42:existing-customer" },
          { text: { type: "plain_text", text: "Competitor" }, value: "42:competitor" },
          { text: { type: "plain_text", text: "Personal use" }, value: "42:personal-use" },
          { text: { type: "plain_text", text: "Other" }, value: "42:other" },
        ],
      },
    ]);
    expect(limitViolations(message.blocks)).toEqual([]);
  });

  it("names the account by domain, then id; says why it is unassigned; shows escalations", () => {
    const message = alertMessage(
      view({
        name: null,
        domain: null,
        icp: null,
        currency: "EUR",
        assignee: null,
        unassignedReason: "ben: out of office until 2026-12-02; chloe: at capacity 25/25",
        escalations: { count: 2, lead: lee },
      }),
    );
    expect(message.blocks[0]).toMatchObject({ text: { text: "acct_000042 is hot" } });
    expect(blocksOf(message, "section")[0]?.text?.text).toBe(
      "Score 87 (hot) · PQR €41,250\n" +
        `Pool: Mid-market · routed <!date^${ROUTED_UNIX}^{date_short_pretty} {time}|2026-11-01 09:00 UTC>\n` +
        "Unassigned: ben: out of office until 2026-12-02; chloe: at capacity 25/25\n" +
        "Escalated 2× · lead <@U0LEE>",
    );
    expect(message.text).toBe("acct_000042 is hot (score 87) — unassigned");
    expect(alertMessage(view({ name: null })).blocks[0]).toMatchObject({
      text: { text: "acme.example is hot" },
    });
  });

  it("stays within every Block Kit limit in the worst case, and user text can never mention or link", () => {
    const nasty = 'Evil "Corp" & <!channel> <@UEVIL> <https://evil.example|click> 😀\\\u0007\n';
    const big = (n: number) => nasty.repeat(Math.ceil(n / nasty.length)).slice(0, n);
    const message = alertMessage(
      view({
        decisionId: "9".repeat(100),
        name: big(10_000),
        domain: big(10_000),
        tier: big(500),
        currency: big(50),
        reasons: Array.from({ length: 200 }, (_, i) => `${i} ${big(500)}`),
        personas: Array.from({ length: 100 }, (_, i) => `${i} ${big(120)}`),
        pool: { key: "x", label: big(1000) },
        hubspotUrl: `https://app.hubspot.com/${"a".repeat(4980)}`,
        assignee: null,
        unassignedReason: big(20_000),
        escalations: { count: 3, lead: { name: big(5000), slackUserId: "U0LEE" } },
      }),
    );
    expect(limitViolations(message.blocks)).toEqual([]);
    expect(JSON.stringify(message.blocks).length).toBeLessThan(12_000);
    expect(message.text.length).toBeLessThanOrEqual(LIMITS.fallbackText);

    // Only our own control sequences survive: the lead's mention and date tokens.
    for (const text of mrkdwnTexts(message)) {
      expect(text).not.toContain("<!channel>");
      expect(text).not.toContain("<@UEVIL");
      expect(text).not.toContain("<https://evil");
      for (const [token] of text.matchAll(/<[^>]*>/g))
        expect(token).toMatch(/^<(@U0LEE|!date\^\d+\^[^|<>]+\|[^|<>]+)>$/);
    }
    expect(mrkdwnTexts(message).some((t) => t.includes("&lt;!channel&gt;"))).toBe(true);
    expect(message.blocks[0]?.type).toBe("header");
    // A 5,000-character URL is left out rather than cut.
    expect(JSON.stringify(message)).not.toContain("View in HubSpot");
    // Reasons that do not fit are counted.
    const why = blocksOf(message, "section").find((s) => s.text?.text.startsWith("*Why now*"));
    const bullets = why?.text?.text.split("\n").filter((l) => l.startsWith("• ")).length ?? 0;
    expect(bullets).toBeGreaterThan(0);
    expect(why?.text?.text).toMatch(new RegExp(`_…and ${200 - bullets} more_$`));
    const personas = blocksOf(message, "context").flatMap((c) => c.elements.map((e) => e.text));
    expect(personas.some((t) => /^\*Active:\* .*_and \d+ more_$/.test(t))).toBe(true);
  });

  it("drops reasons and personas from the end until the serialised blocks fit", () => {
    // Quotes double in JSON. Reasons are capped at 300 characters: 9 fit a section (10 + 9 * 302 + 8
    // separators + "\n_…and 31 more_" = 2,751; a 10th makes 3,039 > 3,000), but 9 of them serialise
    // to over 5,400 characters, too many next to a long summary, personas and link.
    const quotes = (n: number) => '"'.repeat(n);
    const message = alertMessage(
      view({
        domain: quotes(300),
        pool: { key: "p", label: quotes(100) },
        assignee: null,
        unassignedReason: quotes(2000),
        hubspotUrl: `https://app.hubspot.com/${"a".repeat(2900)}`,
        reasons: Array.from({ length: 40 }, () => quotes(400)),
        personas: Array.from({ length: 40 }, () => quotes(99)),
      }),
    );
    expect(JSON.stringify(message.blocks).length).toBeLessThan(LIMITS.total);
    expect(limitViolations(message.blocks)).toEqual([]);
    const why = blocksOf(message, "section")[1]?.text?.text ?? "";
    const shown = why.split("\n").filter((l) => l.startsWith("• ")).length;
    expect(shown).toBeLessThan(9);
    expect(why.endsWith(`_…and ${40 - shown} more_`)).toBe(true);
    expect(JSON.stringify(message.blocks)).toContain("View in HubSpot");
  });

  it("writes names, never mentions, when mention is false", () => {
    const message = alertMessage(view({ mention: false, escalations: { count: 1, lead: lee } }));
    expect(JSON.stringify(message)).not.toContain("<@");
    expect(blocksOf(message, "section")[0]?.text?.text).toContain(
      "Assigned to Ana Ruiz\nEscalated 1× · lead Lee Park",
    );
    expect(message.text).toBe("Acme Corp is hot (score 87) — assigned to Ana Ruiz");
  });

  it("in shadow mode says so and mentions nobody, even if asked to", () => {
    const message = alertMessage(view({ shadow: true, mention: true }));
    expect(JSON.stringify(message)).not.toContain("<@");
    expect(message.blocks[1]).toEqual({
      type: "context",
      elements: [{ type: "mrkdwn", text: "*Shadow mode:* reps do not see this", verbatim: true }],
    });
    expect(message.text).toBe("Shadow mode: Acme Corp is hot (score 87) — assigned to Ana Ruiz");
  });

  it("mentions only ids that look like Slack user ids", () => {
    const message = alertMessage(view({ assignee: { name: "Mallory", slackUserId: "U1> <!channel" } }));
    expect(JSON.stringify(message)).not.toContain("<@");
    expect(blocksOf(message, "section")[0]?.text?.text).toContain("Assigned to Mallory");
  });

  it("replaces the controls by who claimed it, when, and how long after routing", () => {
    const message = alertMessage(view({ state: { kind: "claimed", by: ana, at: minutes(6) } }));
    expect(blocksOf(message, "actions")).toEqual([]);
    expect(message.blocks.at(-1)).toEqual({
      type: "section",
      text: {
        type: "mrkdwn",
        text: `Claimed by <@U0ANA> at <!date^${ROUTED_UNIX + 360}^{time}|09:06 UTC>, 6 min after routing`,
        verbatim: true,
      },
    });
    expect(message.text).toBe("Acme Corp is hot (score 87) — claimed by <@U0ANA>");
  });

  it("counts minutes under 2 h, hours under 2 days, then days", () => {
    const line = (at: Date) => {
      const m = alertMessage(view({ mention: false, state: { kind: "claimed", by: ana, at } }));
      return m.blocks.at(-1)?.type === "section"
        ? (m.blocks.at(-1) as { text: { text: string } }).text.text
        : "";
    };
    expect(line(minutes(119.9))).toMatch(/, 119 min after routing$/);
    expect(line(minutes(120))).toMatch(/, 2 h after routing$/);
    expect(line(minutes(48 * 60 - 1))).toMatch(/, 47 h after routing$/);
    expect(line(minutes(48 * 60))).toMatch(/, 2 days after routing$/);
    expect(line(minutes(-5))).toMatch(/, 0 min after routing$/);
  });

  it("states snoozes and not-a-fit marks without controls", () => {
    const snoozed = alertMessage(
      view({ state: { kind: "snoozed", by: ana, at: minutes(10), until: new Date("2026-11-04T09:10:00Z") } }),
    );
    expect(blocksOf(snoozed, "actions")).toEqual([]);
    expect(JSON.stringify(snoozed.blocks.at(-1))).toContain(
      `Snoozed by <@U0ANA> until <!date^${ROUTED_UNIX + 3 * 86400 + 600}^{date_short_pretty}|2026-11-04>`,
    );
    const notAFit = alertMessage(
      view({ mention: false, state: { kind: "not-a-fit", by: ana, at: minutes(30), reason: "competitor" } }),
    );
    expect(blocksOf(notAFit, "actions")).toEqual([]);
    expect(JSON.stringify(notAFit.blocks.at(-1))).toContain(
      `Not a fit (Competitor), marked by Ana Ruiz at <!date^${ROUTED_UNIX + 1800}^{time}|09:30 UTC>`,
    );
    expect(notAFit.text).toBe("Acme Corp is hot (score 87) — not a fit (Competitor), marked by Ana Ruiz");
  });

  it("refuses a decision id too long to carry in option values", () => {
    expect(() => alertMessage(view({ decisionId: "1".repeat(101) }))).toThrow(RangeError);
    expect(() => alertMessage(view({ decisionId: "" }))).toThrow(RangeError);
  });
});

describe("truncation", () => {
  it("never splits a surrogate pair", () => {
    expect(truncateText("😀".repeat(200), 10)).toBe(`${"😀".repeat(4)}…`);
    expect(truncateText("😀".repeat(200), 9)).toBe(`${"😀".repeat(4)}…`);
    expect(truncateText("abc", 3)).toBe("abc");
    // 150 - " is hot".length = 143 for the name: 71 emoji (142) and the ellipsis.
    const message = alertMessage(view({ name: "😀".repeat(200) }));
    expect(message.blocks[0]).toMatchObject({ text: { text: `${"😀".repeat(71)}… is hot` } });
    expect(limitViolations(message.blocks)).toEqual([]);
  });

  it("never splits an emoji sequence or an escaped entity", () => {
    const family = "👨‍👩‍👧"; // 8 code units, one grapheme
    expect(truncateText(family.repeat(3), 20)).toBe(`${family.repeat(2)}…`);
    // A 400-char "&" reason is capped at 300: 59 "&amp;" (295) and the ellipsis; a 60th would make 301.
    const message = alertMessage(view({ reasons: ["&".repeat(400)] }));
    expect(blocksOf(message, "section")[1]?.text?.text).toBe(`*Why now*\n• ${"&amp;".repeat(59)}…`);
  });
});

describe("the calibrated probability", () => {
  const probability = "~34% likely to convert in 90 days (calibrated 2026-11-29)";

  it("stands beside the score in the alert and the /pql summary when calibrated, and is absent otherwise", () => {
    const [summary] = blocksOf(alertMessage(view({ probability })), "section");
    expect(summary?.text?.text).toContain(`Score 87 (hot) · ${probability} · PQR $41,250 · ICP 72\n`);
    const [plain] = blocksOf(alertMessage(view()), "section");
    expect(plain?.text?.text).not.toContain("likely to convert");
    const [card] = blocksOf(accountSummary({ ...view({ probability }), owner: null }), "section");
    expect(card?.text?.text).toContain(`Score 87 (hot) · ${probability} · PQR`);
  });

  it("stands beside each score in a digest", () => {
    const item: DigestItem = {
      decisionId: "7",
      name: null,
      domain: "z.example",
      score: 81,
      probability,
      pqr: 500,
      currency: "USD",
      routedAt,
      assignee: null,
      topReason: null,
    };
    const digest = digestMessage({
      poolLabel: "SMB",
      items: [item],
      now: minutes(45),
      mention: false,
      shadow: false,
    });
    expect(blocksOf(digest, "section")[0]?.text?.text).toBe(
      `*z.example*\nScore 81 · ${probability} · PQR $500 · waiting 45 min · unassigned`,
    );
    expect(limitViolations(digest.blocks)).toEqual([]);
  });
});

describe("digestMessage", () => {
  const item = (i: number, overrides: Partial<DigestItem> = {}): DigestItem => ({
    decisionId: `d${i}`,
    name: `Account ${i}`,
    domain: `a${i}.example`,
    score: 90,
    probability: null,
    pqr: 1000,
    currency: "USD",
    routedAt: minutes(i),
    assignee: null,
    topReason: "visited pricing",
    ...overrides,
  });
  const now = minutes(180);

  it("shows the oldest 48 of 80 with a Claim button each, then 'and 32 more', in 50 blocks", () => {
    // Short items (about 235 JSON characters each), so the 50-block limit binds before the size budget.
    const items = Array.from({ length: 80 }, (_, i) =>
      item(i, { name: `A${i}`, domain: null, topReason: null }),
    );
    const message = digestMessage({ poolLabel: "Mid-market", items, now, mention: false, shadow: false });
    // header + 48 sections + "and 32 more" = 50
    expect(message.blocks).toHaveLength(50);
    expect(message.blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "80 unclaimed hot accounts in Mid-market", emoji: true },
    });
    const sections = blocksOf(message, "section");
    expect(sections).toHaveLength(48);
    expect(sections.map((s) => s.accessory?.value)).toEqual(Array.from({ length: 48 }, (_, i) => `d${i}`));
    for (const [i, s] of sections.entries())
      expect(s.accessory).toEqual({
        type: "button",
        action_id: ACTIONS.claim,
        text: { type: "plain_text", text: "Claim" },
        value: `d${i}`,
      });
    // Item 0 was routed 180 min before now, item 47 133 min before: both "2 h" or more.
    expect(sections[0]?.text?.text).toBe("*A0*\nScore 90 · PQR $1,000 · waiting 3 h · unassigned");
    expect(sections[47]?.text?.text).toBe("*A47*\nScore 90 · PQR $1,000 · waiting 2 h · unassigned");
    expect(message.blocks.at(-1)).toMatchObject({
      type: "context",
      elements: [{ text: expect.stringContaining("and 32 more") }],
    });
    expect(message.text).toBe("80 unclaimed hot accounts in Mid-market");
    expect(limitViolations(message.blocks)).toEqual([]);
  });

  it("stops at the size budget before 50 blocks when items are long, and counts the rest", () => {
    const items = Array.from({ length: 80 }, (_, i) =>
      item(i, { name: `${i} ${"N".repeat(200)}`, topReason: "R".repeat(400), assignee: ana }),
    );
    const message = digestMessage({ poolLabel: "Mid-market", items, now, mention: true, shadow: false });
    expect(limitViolations(message.blocks)).toEqual([]);
    const shown = blocksOf(message, "section").length;
    expect(shown).toBeLessThan(48);
    expect(shown).toBeGreaterThan(10);
    expect(JSON.stringify(message.blocks.at(-1))).toContain(`and ${80 - shown} more`);
    expect(blocksOf(message, "section")[0]?.text?.text).toContain("· <@U0ANA>");
  });

  it("in shadow mode keeps a shadow line and mentions nobody", () => {
    const items = Array.from({ length: 80 }, (_, i) =>
      item(i, { name: `A${i}`, domain: null, topReason: null, assignee: ana }),
    );
    const message = digestMessage({ poolLabel: "Mid-market", items, now, mention: true, shadow: true });
    expect(message.blocks).toHaveLength(50);
    expect(blocksOf(message, "section")).toHaveLength(47);
    expect(JSON.stringify(message.blocks.at(-1))).toContain("and 33 more");
    expect(JSON.stringify(message)).not.toContain("<@");
  });

  it("says there is nothing to claim for an empty list", () => {
    const message = digestMessage({ poolLabel: "Mid-market", items: [], now, mention: true, shadow: false });
    expect(message).toEqual({
      text: "No unclaimed hot accounts in Mid-market",
      blocks: [
        {
          type: "section",
          text: { type: "mrkdwn", text: "No unclaimed hot accounts in *Mid-market*.", verbatim: true },
        },
      ],
    });
  });
});

describe("textPreview", () => {
  it("renders an open alert for a terminal: name, controls, mentions as @U…, dates as their fallback", () => {
    const preview = textPreview(alertMessage(view({ reasons: ["pricing & <plans> page"] })));
    expect(preview).toContain("Acme Corp is hot");
    expect(preview).toContain("[ Claim ]  [ Snooze ▾ ]  [ Not a fit ▾ ]");
    expect(preview).toContain("Assigned to @U0ANA");
    expect(preview).toContain("routed 2026-11-01 09:00 UTC");
    expect(preview).toContain("• pricing & <plans> page");
    expect(preview).toContain("View in HubSpot (https://app.hubspot.com/contacts/123/company/9001)");
    expect(preview).not.toContain("<!date^");
    expect(preview).not.toContain("<@");
    expect(preview).not.toContain("&amp;");
  });

  it("renders a claimed alert line by line", () => {
    const message = alertMessage(
      view({
        reasons: ["a"],
        personas: [],
        hubspotUrl: null,
        state: { kind: "claimed", by: ana, at: minutes(6) },
      }),
    );
    expect(textPreview(message)).toBe(
      [
        "# Acme Corp is hot",
        "",
        "*acme.example*\nScore 87 (hot) · PQR $41,250 · ICP 72\nPool: Mid-market · routed 2026-11-01 09:00 UTC\nAssigned to @U0ANA",
        "",
        "*Why now*\n• a",
        "",
        "Claimed by @U0ANA at 09:06 UTC, 6 min after routing",
      ].join("\n"),
    );
  });

  it("shows digest buttons and falls back to the text without blocks", () => {
    const digest = digestMessage({
      poolLabel: "SMB",
      items: [
        {
          decisionId: "7",
          name: null,
          domain: "z.example",
          score: 81,
          probability: null,
          pqr: 500,
          currency: "USD",
          routedAt,
          assignee: null,
          topReason: null,
        },
      ],
      now: minutes(45),
      mention: false,
      shadow: false,
    });
    expect(textPreview(digest)).toBe(
      "# 1 unclaimed hot account in SMB\n\n*z.example*\nScore 81 · PQR $500 · waiting 45 min · unassigned\n[ Claim ]",
    );
    expect(
      textPreview({ text: "Hi <@U1|ana> &amp; <#C1|sales>: <!here> <https://x.example|site>", blocks: [] }),
    ).toBe("Hi @ana & #sales: @here site (https://x.example)");
  });
});

describe("accountSummary", () => {
  const base = { ...view(), owner: "Dana Owner" };

  it("summarises an account that was never routed, without buttons", () => {
    const message = accountSummary({ ...base, decisionId: null, assignee: null, state: { kind: "open" } });
    expect(blocksOf(message, "actions")).toEqual([]);
    expect(JSON.stringify(message.blocks)).not.toContain('"button"');
    expect(message.blocks[0]).toMatchObject({ type: "header", text: { text: "Acme Corp" } });
    expect(blocksOf(message, "section")[0]?.text?.text).toBe(
      "*acme.example*\nScore 87 (hot) · PQR $41,250 · ICP 72\nPool: Mid-market\nHubSpot owner: Dana Owner\nNot routed yet",
    );
    expect(message.text).toBe("Acme Corp: score 87 (hot), not routed yet");
  });

  it("tells who claimed it", () => {
    const message = accountSummary({
      ...base,
      decisionId: "42",
      owner: null,
      state: { kind: "claimed", by: ana, at: minutes(90) },
    });
    const summary = blocksOf(message, "section")[0]?.text?.text;
    expect(summary).toContain("Assigned to <@U0ANA>\nNo HubSpot owner\n");
    expect(summary).toContain(
      `Claimed by <@U0ANA> at <!date^${ROUTED_UNIX + 5400}^{time}|10:30 UTC>, 90 min after routing`,
    );
    expect(limitViolations(message.blocks)).toEqual([]);
  });
});

describe("small texts", () => {
  it("claimedElsewhereText names the winner, the time and the delay", () => {
    expect(claimedElsewhereText(ana, minutes(6), routedAt)).toBe(
      `Already claimed by <@U0ANA> at <!date^${ROUTED_UNIX + 360}^{time}|09:06 UTC>, 6 min after routing`,
    );
    expect(claimedElsewhereText({ name: "A <b>", slackUserId: null }, minutes(150), routedAt)).toBe(
      `Already claimed by A &lt;b&gt; at <!date^${ROUTED_UNIX + 9000}^{time}|11:30 UTC>, 2 h after routing`,
    );
  });

  it("notAllowedText names the pool, escaped", () => {
    expect(notAllowedText("R&D <team>")).toBe(
      "Only reps of the *R&amp;D &lt;team&gt;* pool and managers can act on this alert.",
    );
  });

  it("slackTime gives a viewer-local token with a UTC fallback", () => {
    expect(slackTime(minutes(102))).toBe(`<!date^${ROUTED_UNIX + 6120}^{time}|10:42 UTC>`);
    expect(slackTime(routedAt, "date")).toBe(`<!date^${ROUTED_UNIX}^{date_short_pretty}|2026-11-01>`);
    expect(slackTime(routedAt, "datetime")).toBe(
      `<!date^${ROUTED_UNIX}^{date_short_pretty} {time}|2026-11-01 09:00 UTC>`,
    );
  });

  it("parseOptionValue takes a select value apart", () => {
    expect(parseOptionValue("42:3d")).toEqual({ decisionId: "42", option: "3d" });
    expect(parseOptionValue("a:b:not-icp")).toEqual({ decisionId: "a:b", option: "not-icp" });
    expect(parseOptionValue("42")).toBeNull();
    expect(parseOptionValue(":x")).toBeNull();
  });

  it("the limit checker itself catches violations", () => {
    const bad = [
      { type: "header", text: { type: "plain_text", text: "x".repeat(151) } },
      { type: "section", fields: Array.from({ length: 11 }, () => ({ type: "mrkdwn", text: "f" })) },
      {
        type: "actions",
        block_id: "b".repeat(256),
        elements: [{ type: "button", action_id: "a", text: { type: "plain_text", text: "" } }],
      },
    ];
    expect(limitViolations(bad)).toEqual([
      "blocks[0]: header text",
      "blocks[1]: field count",
      "blocks[2]: block_id",
      "blocks[2].elements[0].text: text object length",
    ]);
  });
});
