import { counted } from "../../text.ts";
/**
 * The Slack messages pql-router posts, as Block Kit JSON. Pure: no I/O, no clock (callers pass
 * `now`). Every piece of user-provided text is cleaned, mrkdwn-escaped and truncated to its
 * Block Kit limit here, so a company name can never mention a channel or break a post.
 */

/** Action ids of the alert's interactive elements; the handlers are wired to these. */
export const ACTIONS = { claim: "pql_claim", snooze: "pql_snooze", notAFit: "pql_not_a_fit" } as const;

export const SNOOZE_OPTIONS = [
  { value: "1d", label: "1 day", days: 1 },
  { value: "3d", label: "3 days", days: 3 },
  { value: "7d", label: "1 week", days: 7 },
] as const;

export const NOT_A_FIT_REASONS = [
  { value: "not-icp", label: "Not our ICP" },
  { value: "existing-customer", label: "Existing customer" },
  { value: "competitor", label: "Competitor" },
  { value: "personal-use", label: "Personal use" },
  { value: "other", label: "Other" },
] as const;

export type NotAFitReason = (typeof NOT_A_FIT_REASONS)[number]["value"];

/** Block Kit limits (characters, counted as UTF-16 code units: never below Slack's own count). */
export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  header: 150,
  buttonText: 75,
  buttonValue: 2000,
  url: 3000,
  actionId: 255,
  blockId: 255,
  contextElements: 10,
  optionText: 75,
  /** A select option's value (Slack's option object limit). */
  optionValue: 150,
  /** The notification `text`; we keep it short. */
  fallbackText: 3000,
  /** `JSON.stringify(blocks)`: our margin under Slack's ~13k `msg_blocks_too_long`. */
  total: 12000,
} as const;

/**
 * Our ids go into block ids and option values (150 with the option suffix); a longer one is a
 * bug upstream, not something to cut.
 */
const MAX_DECISION_ID = 100;
/** Readability caps for single user-provided values (after escaping). */
const CAP = { name: 100, domain: 255, tier: 20, label: 100, reason: 300, persona: 100, why: 1000 } as const;
const PERSONAS_TEXT = 1000;
const ELLIPSIS = "…";

export interface Person {
  name: string;
  slackUserId: string | null;
}

export type AlertState =
  | { kind: "open" }
  | { kind: "claimed"; by: Person; at: Date }
  | { kind: "snoozed"; by: Person; until: Date; at: Date }
  | { kind: "not-a-fit"; by: Person; reason: NotAFitReason; at: Date }
  /** The account was routed again since: a newer alert replaces this one. */
  | { kind: "superseded" };

export interface AlertView {
  /** Routing decision id; every button/select value carries it. */
  decisionId: string;
  accountId: string;
  name: string | null;
  domain: string | null;
  /** "hot" | "warm" | "cold" */
  tier: string;
  /** 0-100 */
  score: number;
  /** Shown beside the score: "~34% likely to convert in 90 days (calibrated 2026-11-29)"; null when not calibrated. */
  probability: string | null;
  pqr: number;
  currency: string;
  /** 0-100 */
  icp: number | null;
  /** Plain-words reasons, most important first. */
  reasons: string[];
  /** Active persona labels, e.g. "HR admin". */
  personas: string[];
  pool: { key: string; label: string };
  /** null: posted unassigned. */
  assignee: Person | null;
  /** Why nobody was eligible. */
  unassignedReason: string | null;
  hubspotUrl: string | null;
  routedAt: Date;
  /** false in shadow mode: names, never `<@U…>` mentions. */
  mention: boolean;
  /** Adds a visible "Shadow mode: reps do not see this" line. */
  shadow: boolean;
  /** SLA escalations so far. */
  escalations: { count: number; lead: Person | null } | null;
  state: AlertState;
}

export interface PlainText {
  type: "plain_text";
  text: string;
  emoji?: boolean;
}
export interface MrkdwnText {
  type: "mrkdwn";
  text: string;
  verbatim?: boolean;
}
export interface ButtonElement {
  type: "button";
  action_id: string;
  text: PlainText;
  value?: string;
  url?: string;
  style?: "primary" | "danger";
}
export interface SelectOption {
  text: PlainText;
  value: string;
}
export interface StaticSelectElement {
  type: "static_select";
  action_id: string;
  placeholder: PlainText;
  options: SelectOption[];
}
export interface HeaderBlock {
  type: "header";
  block_id?: string;
  text: PlainText;
}
export interface SectionBlock {
  type: "section";
  block_id?: string;
  text?: MrkdwnText;
  fields?: MrkdwnText[];
  accessory?: ButtonElement;
}
export interface ContextBlock {
  type: "context";
  block_id?: string;
  elements: (MrkdwnText | PlainText)[];
}
export interface ActionsBlock {
  type: "actions";
  block_id?: string;
  elements: (ButtonElement | StaticSelectElement)[];
}
/** The subset of Block Kit we post (plain JSON; assignable to `@slack/types` KnownBlock). */
export type Block = HeaderBlock | SectionBlock | ContextBlock | ActionsBlock;

export interface SlackMessage {
  text: string;
  blocks: Block[];
}

export interface DigestItem {
  decisionId: string;
  name: string | null;
  domain: string | null;
  score: number;
  /** As in {@link AlertView}: beside the score, null when not calibrated. */
  probability: string | null;
  pqr: number;
  currency: string;
  routedAt: Date;
  assignee: Person | null;
  topReason: string | null;
}

export type AccountSummaryView = Omit<AlertView, "decisionId" | "mention" | "shadow" | "escalations"> & {
  /** null when the account was never routed. */
  decisionId: string | null;
  /** HubSpot owner's name, when known. */
  owner: string | null;
};

// ---------------------------------------------------------------------------------------------
// Messages

/** The alert posted to a pool's channel; non-open states replace it without its actions. */
export function alertMessage(view: AlertView): SlackMessage {
  checkDecisionId(view.decisionId);
  const label = accountLabel(view);
  const mention = view.mention && !view.shadow; // a shadow post never pings anyone
  const who = (p: Person) => personText(p, mention);
  const lines = [
    ...headlineLines(view),
    `Pool: ${esc(view.pool.label, CAP.label)} · routed ${slackTime(view.routedAt, "datetime")}`,
    assignmentLine(view.assignee, view.unassignedReason, mention),
  ];
  const escalations = view.escalations;
  if (escalations && escalations.count > 0)
    lines.push(
      `Escalated ${escalations.count}×${escalations.lead ? ` · lead ${who(escalations.lead)}` : ""}`,
    );
  const tail: Block =
    view.state.kind === "open"
      ? actionsBlock(view.decisionId)
      : section(stateLine(view.state, view.routedAt, who));
  const blocks = fitCard({
    header: `${plain(label, LIMITS.header - ` is ${tier(view.tier)}`.length)} is ${tier(view.tier)}`,
    shadow: view.shadow,
    summary: lines,
    reasons: view.reasons,
    personas: view.personas,
    hubspotUrl: view.hubspotUrl,
    tail: [tail],
  });
  const outcome =
    view.state.kind !== "open"
      ? stateShort(view.state, who)
      : view.assignee
        ? `assigned to ${who(view.assignee)}`
        : "unassigned";
  const text = `${view.shadow ? "Shadow mode: " : ""}${esc(label, CAP.name)} is ${esc(view.tier, CAP.tier)} (score ${Math.round(view.score)}) — ${outcome}`;
  return { text: fitMrkdwn(text, LIMITS.fallbackText), blocks };
}

/**
 * Unclaimed hot accounts of a pool, `items` oldest first: one section per account with a Claim
 * button; the top ones that fit in 50 blocks and the size budget, then "and K more".
 */
export function digestMessage(input: {
  poolLabel: string;
  items: DigestItem[];
  now: Date;
  mention: boolean;
  shadow: boolean;
}): SlackMessage {
  const pool = esc(input.poolLabel, CAP.label);
  const top: Block[] = [];
  const total = input.items.length;
  if (total === 0) {
    const blocks: Block[] = [section(`No unclaimed hot accounts in *${pool}*.`)];
    if (input.shadow) blocks.unshift(shadowBlock());
    return { text: `${input.shadow ? "Shadow mode: " : ""}No unclaimed hot accounts in ${pool}`, blocks };
  }
  const count = counted(total, "unclaimed hot account");
  top.push({
    type: "header",
    text: {
      type: "plain_text",
      text: plain(`${count} in ${input.poolLabel}`, LIMITS.header),
      emoji: true,
    },
  });
  if (input.shadow) top.push(shadowBlock());
  const more = (k: number): Block => ({
    type: "context",
    elements: [mrkdwn(`…and ${k} more, not shown here (oldest are shown first)`)],
  });
  const size = (b: Block) => JSON.stringify(b).length + 1; // its comma in the array
  const blocks = [...top];
  let used = 1 + blocks.reduce((n, b) => n + size(b), 0);
  for (const [i, item] of input.items.entries()) {
    checkDecisionId(item.decisionId);
    const block = digestSection(item, input.now, input.mention && !input.shadow);
    const left = total - (i + 1);
    const reserve = left > 0 ? { blocks: 1, chars: size(more(left)) } : { blocks: 0, chars: 0 };
    const fitsBlocks = blocks.length + 1 + reserve.blocks <= LIMITS.blocks;
    if (!fitsBlocks || used + size(block) + reserve.chars >= LIMITS.total) break;
    blocks.push(block);
    used += size(block);
  }
  const shown = blocks.length - top.length;
  if (shown < total) blocks.push(more(total - shown));
  const text = `${input.shadow ? "Shadow mode: " : ""}${count} in ${pool}`;
  return { text: fitMrkdwn(text, LIMITS.fallbackText), blocks };
}

/** The ephemeral answer to `/pql <domain|name|id>`: the account at a glance, no buttons. */
export function accountSummary(view: AccountSummaryView): SlackMessage {
  const who = (p: Person) => personText(p, true); // ephemeral: a mention notifies nobody
  const lines = [...headlineLines(view), `Pool: ${esc(view.pool.label, CAP.label)}`];
  if (view.decisionId !== null) lines.push(assignmentLine(view.assignee, view.unassignedReason, true));
  lines.push(view.owner ? `HubSpot owner: ${esc(view.owner, CAP.name)}` : "No HubSpot owner");
  let status: string;
  let short: string;
  if (view.decisionId === null) [status, short] = ["Not routed yet", "not routed yet"];
  else if (view.state.kind === "open")
    [status, short] = [`Routed ${slackTime(view.routedAt, "datetime")}, not claimed yet`, "not claimed yet"];
  else [status, short] = [stateLine(view.state, view.routedAt, who), stateShort(view.state, who)];
  lines.push(status);
  const label = accountLabel(view);
  const blocks = fitCard({
    header: plain(label, LIMITS.header),
    shadow: false,
    summary: lines,
    reasons: view.reasons,
    personas: view.personas,
    hubspotUrl: view.hubspotUrl,
    tail: [],
  });
  const text = `${esc(label, CAP.name)}: score ${Math.round(view.score)} (${esc(view.tier, CAP.tier)}), ${short}`;
  return { text: fitMrkdwn(text, LIMITS.fallbackText), blocks };
}

/** Ephemeral answer to a losing Claim click. */
export function claimedElsewhereText(by: Person, at: Date, routedAt: Date): string {
  return `Already claimed by ${personText(by, true)} at ${slackTime(at)}, ${duration(at.getTime() - routedAt.getTime())} after routing`;
}

/** Ephemeral refusal for someone who is neither a rep of the pool nor a manager. */
export function notAllowedText(poolLabel: string): string {
  return `Only reps of the *${esc(poolLabel, CAP.label)}* pool and managers can act on this alert.`;
}

/**
 * A date token Slack renders in the viewer's time zone, e.g. `<!date^1795000920^{time}|10:42 UTC>`;
 * the fallback (shown by old clients and `textPreview`) is in UTC.
 */
export function slackTime(at: Date, format: "time" | "date" | "datetime" = "time"): string {
  const iso = at.toISOString(); // throws RangeError on an invalid date: a bug upstream
  const time = `${iso.slice(11, 16)} UTC`;
  const date = iso.slice(0, 10);
  const [token, fallback] =
    format === "time"
      ? ["{time}", time]
      : format === "date"
        ? ["{date_short_pretty}", date]
        : ["{date_short_pretty} {time}", `${date} ${time}`];
  return `<!date^${Math.floor(at.getTime() / 1000)}^${token}|${fallback}>`;
}

/**
 * The value of a Snooze or Not-a-fit option, `${decisionId}:${option}`, taken apart (the option
 * values never contain ":"). null when the value is not ours.
 */
export function parseOptionValue(value: string): { decisionId: string; option: string } | null {
  const at = value.lastIndexOf(":");
  if (at <= 0 || at === value.length - 1) return null;
  return { decisionId: value.slice(0, at), option: value.slice(at + 1) };
}

// ---------------------------------------------------------------------------------------------
// Plain-text preview (CLI, logs)

/**
 * The message as a person would read it in a terminal. `names` maps Slack user ids to the names
 * Slack would display for their mentions (otherwise the id is shown).
 */
export function textPreview(message: SlackMessage, names: ReadonlyMap<string, string> = new Map()): string {
  previewNames = names;
  try {
    if (message.blocks.length === 0) return mrkdwnToPlain(message.text);
    return message.blocks.map(previewBlock).join("\n\n");
  } finally {
    previewNames = new Map();
  }
}

/** The names of the preview being rendered (textPreview is synchronous, so one at a time). */
let previewNames: ReadonlyMap<string, string> = new Map();

function previewBlock(block: Block): string {
  switch (block.type) {
    case "header":
      return `# ${block.text.text}`;
    case "section": {
      const parts: string[] = [];
      if (block.text) parts.push(previewText(block.text));
      if (block.fields) parts.push(...block.fields.map(previewText));
      if (block.accessory) parts.push(previewElement(block.accessory));
      return parts.join("\n");
    }
    case "context":
      return block.elements.map(previewText).join("  ·  ");
    case "actions":
      return block.elements.map(previewElement).join("  ");
  }
}

function previewText(text: PlainText | MrkdwnText): string {
  return text.type === "mrkdwn" ? mrkdwnToPlain(text.text) : text.text;
}

function previewElement(element: ButtonElement | StaticSelectElement): string {
  if (element.type === "static_select") return `[ ${element.placeholder.text} ▾ ]`;
  return `[ ${element.text.text} ]${element.url ? ` (${element.url})` : ""}`;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">" };

function mrkdwnToPlain(text: string): string {
  return text.replace(/<([^<>]*)>|&(amp|lt|gt);/g, (_, inner: string | undefined, entity: string) =>
    inner === undefined ? (ENTITIES[entity] ?? "") : controlToPlain(inner),
  );
}

function controlToPlain(inner: string): string {
  const bar = inner.indexOf("|");
  const target = unescapeMrkdwn(bar < 0 ? inner : inner.slice(0, bar));
  const label = bar < 0 ? null : unescapeMrkdwn(inner.slice(bar + 1));
  if (target.startsWith("@"))
    return label ? `@${label}` : `@${previewNames.get(target.slice(1)) ?? target.slice(1)}`;
  if (target.startsWith("#")) return label ? `#${label}` : target;
  if (target.startsWith("!")) {
    if (label !== null) return label; // dates, user groups: their fallback
    return `@${target.slice(1).split("^")[0]}`; // !here, !channel, !everyone
  }
  return label && label !== target ? `${label} (${target})` : target;
}

function unescapeMrkdwn(text: string): string {
  return text.replace(/&(amp|lt|gt);/g, (_, entity: string) => ENTITIES[entity] ?? "");
}

// ---------------------------------------------------------------------------------------------
// Building blocks

interface Card {
  header: string;
  shadow: boolean;
  summary: string[];
  reasons: string[];
  personas: string[];
  hubspotUrl: string | null;
  tail: Block[];
}

/**
 * Header, summary, reasons, personas and link, then `tail`. Shows as many reasons and personas as
 * their blocks allow, then drops more from the end (saying "and K more") until the whole
 * serialised message is under LIMITS.total.
 */
function fitCard(card: Card): Block[] {
  const reasons = card.reasons.map((r) => esc(r, CAP.reason)).filter((r) => r !== "");
  const personas = card.personas.map((p) => esc(p, CAP.persona)).filter((p) => p !== "");
  let link = hubspotLink(card.hubspotUrl);
  let maxReasons = reasons.length;
  let maxPersonas = personas.length;
  for (;;) {
    const why = fitList(reasons, maxReasons, {
      head: "*Why now*\n",
      sep: "\n",
      bullet: "• ",
      max: LIMITS.sectionText,
      more: (k) => `_…and ${k} more_`,
    });
    const active = fitList(personas, maxPersonas, {
      head: "*Active:* ",
      sep: ", ",
      bullet: "",
      max: PERSONAS_TEXT,
      more: (k) => `_and ${k} more_`,
    });
    const blocks: Block[] = [
      { type: "header", text: { type: "plain_text", text: card.header, emoji: true } },
    ];
    if (card.shadow) blocks.push(shadowBlock());
    blocks.push(section(card.summary.join("\n")));
    if (why.text) blocks.push(section(why.text));
    const context = [active.text, link].filter((t): t is string => t !== null);
    if (context.length > 0) blocks.push({ type: "context", elements: context.map((t) => mrkdwn(t)) });
    blocks.push(...card.tail);
    if (JSON.stringify(blocks).length < LIMITS.total) return blocks;
    // Too big: drop from the end of whichever list takes more room, then the link.
    maxReasons = why.shown;
    maxPersonas = active.shown;
    if (maxReasons === 0 && maxPersonas === 0) {
      if (link === null) return blocks; // unreachable with the caps above; kept finite
      link = null;
    } else if (maxPersonas > 0 && (maxReasons === 0 || active.chars >= why.chars)) maxPersonas--;
    else maxReasons--;
  }
}

/** `head` + the first items that fit in `max` (at most `limit`), then "and K more" for the rest. */
function fitList(
  items: string[],
  limit: number,
  f: { head: string; sep: string; bullet: string; max: number; more: (k: number) => string },
): { text: string | null; shown: number; chars: number } {
  if (items.length === 0) return { text: null, shown: 0, chars: 0 };
  let text = f.head;
  let shown = 0;
  for (const item of items) {
    if (shown >= limit) break;
    const next = `${text}${shown > 0 ? f.sep : ""}${f.bullet}${item}`;
    const left = items.length - shown - 1;
    const tail = left > 0 ? `${f.sep}${f.more(left)}` : "";
    if (next.length + tail.length > f.max) break;
    text = next;
    shown++;
  }
  if (shown < items.length) text += `${shown > 0 ? f.sep : ""}${f.more(items.length - shown)}`;
  return { text: fitMrkdwn(text, f.max), shown, chars: text.length };
}

function headlineLines(
  view: Pick<AlertView, "domain" | "tier" | "score" | "probability" | "pqr" | "currency" | "icp">,
): string[] {
  const lines: string[] = [];
  const domain = esc(view.domain ?? "", CAP.domain);
  if (domain) lines.push(`*${domain}*`);
  const icp = view.icp === null ? "" : ` · ICP ${Math.round(view.icp)}`;
  lines.push(
    `Score ${Math.round(view.score)} (${esc(view.tier, CAP.tier)})${probabilityText(view.probability)} · PQR ${esc(money(view.pqr, view.currency), CAP.label)}${icp}`,
  );
  return lines;
}

/** " · ~34% likely to convert in 90 days (calibrated 2026-11-29)", or "" when not calibrated. */
function probabilityText(probability: string | null): string {
  const text = esc(probability ?? "", CAP.label);
  return text ? ` · ${text}` : "";
}

function assignmentLine(assignee: Person | null, reason: string | null, mention: boolean): string {
  if (assignee) return `Assigned to ${personText(assignee, mention)}`;
  return `Unassigned: ${esc(reason ?? "", CAP.why) || "no eligible rep"}`;
}

function stateLine(
  state: Exclude<AlertState, { kind: "open" }>,
  routedAt: Date,
  who: (p: Person) => string,
): string {
  switch (state.kind) {
    case "claimed":
      return `Claimed by ${who(state.by)} at ${slackTime(state.at)}, ${duration(state.at.getTime() - routedAt.getTime())} after routing`;
    case "snoozed":
      return `Snoozed by ${who(state.by)} until ${slackTime(state.until, "date")}`;
    case "not-a-fit":
      return `Not a fit (${reasonLabel(state.reason)}), marked by ${who(state.by)} at ${slackTime(state.at)}`;
    case "superseded":
      return "Routed again since: see the newer alert";
  }
}

/** The state in a few words, for the notification text. */
function stateShort(state: Exclude<AlertState, { kind: "open" }>, who: (p: Person) => string): string {
  switch (state.kind) {
    case "claimed":
      return `claimed by ${who(state.by)}`;
    case "snoozed":
      return `snoozed by ${who(state.by)} until ${slackTime(state.until, "date")}`;
    case "not-a-fit":
      return `not a fit (${reasonLabel(state.reason)}), marked by ${who(state.by)}`;
    case "superseded":
      return "routed again since";
  }
}

function reasonLabel(reason: NotAFitReason): string {
  return NOT_A_FIT_REASONS.find((r) => r.value === reason)?.label ?? "Other";
}

function actionsBlock(decisionId: string): ActionsBlock {
  return {
    type: "actions",
    block_id: `pql_actions:${decisionId}`,
    elements: [
      {
        type: "button",
        action_id: ACTIONS.claim,
        text: { type: "plain_text", text: "Claim" },
        style: "primary",
        value: decisionId,
      },
      {
        type: "static_select",
        action_id: ACTIONS.snooze,
        placeholder: { type: "plain_text", text: "Snooze" },
        options: SNOOZE_OPTIONS.map((o) => option(o.label, `${decisionId}:${o.value}`)),
      },
      {
        type: "static_select",
        action_id: ACTIONS.notAFit,
        placeholder: { type: "plain_text", text: "Not a fit" },
        options: NOT_A_FIT_REASONS.map((r) => option(r.label, `${decisionId}:${r.value}`)),
      },
    ],
  };
}

function digestSection(item: DigestItem, now: Date, mention: boolean): SectionBlock {
  const name = esc(item.name ?? "", CAP.name);
  const domain = esc(item.domain ?? "", CAP.name);
  const title = name ? `*${name}*${domain ? ` (${domain})` : ""}` : `*${domain || "Unnamed account"}*`;
  const who = item.assignee ? personText(item.assignee, mention) : "unassigned";
  const lines = [
    title,
    `Score ${Math.round(item.score)}${probabilityText(item.probability)} · PQR ${esc(money(item.pqr, item.currency), CAP.label)} · waiting ${duration(now.getTime() - item.routedAt.getTime())} · ${who}`,
  ];
  const reason = esc(item.topReason ?? "", CAP.reason);
  if (reason) lines.push(`_${reason}_`);
  return {
    type: "section",
    text: mrkdwn(lines.join("\n")),
    // No "primary" style: Slack reserves it for one button per message, and it costs 18
    // characters per item of the size budget.
    accessory: {
      type: "button",
      action_id: ACTIONS.claim,
      text: { type: "plain_text", text: "Claim" },
      value: item.decisionId,
    },
  };
}

function hubspotLink(url: string | null): string | null {
  if (!url) return null;
  let href: string;
  try {
    href = new URL(url).href; // percent-encodes spaces, quotes and angle brackets
  } catch {
    return null;
  }
  if (!/^https?:/.test(href) || href.length > LIMITS.url) return null;
  const link = `<${escapeMrkdwn(href).replaceAll("|", "%7C")}|View in HubSpot>`;
  return link.length <= LIMITS.sectionText ? link : null; // too long: omit, never cut a URL
}

function shadowBlock(): ContextBlock {
  return { type: "context", elements: [mrkdwn("*Shadow mode:* reps do not see this")] };
}

function section(text: string): SectionBlock {
  return { type: "section", text: mrkdwn(fitMrkdwn(text, LIMITS.sectionText)) };
}

/** verbatim: Slack does not auto-parse plain "@channel" or channel names in our text. */
function mrkdwn(text: string): MrkdwnText {
  return { type: "mrkdwn", text: fitMrkdwn(text, LIMITS.sectionText), verbatim: true };
}

function option(label: string, value: string): SelectOption {
  return { text: { type: "plain_text", text: plain(label, LIMITS.optionText) }, value };
}

function checkDecisionId(id: string): void {
  if (id === "" || id.length > MAX_DECISION_ID)
    throw new RangeError(`decision id must have 1 to ${MAX_DECISION_ID} characters, got ${id.length}`);
}

// ---------------------------------------------------------------------------------------------
// Text helpers

function accountLabel(view: { name: string | null; domain: string | null; accountId: string }): string {
  return [view.name, view.domain, view.accountId].map((s) => clean(s ?? "")).find((s) => s !== "") ?? "?";
}

function tier(value: string): string {
  return plain(value, CAP.tier) || "hot";
}

/** `<@U…>` when allowed and the id looks like a Slack user id; otherwise the escaped name. */
function personText(person: Person, mention: boolean): string {
  const id = person.slackUserId;
  if (mention && id && /^[UW][A-Z0-9]{2,30}$/.test(id)) return `<@${id}>`;
  return esc(person.name, CAP.name) || "someone";
}

function money(amount: number, currency: string): string {
  const rounded = Math.round(amount);
  try {
    return new Intl.NumberFormat("en-US", {
      style: "currency",
      currency,
      minimumFractionDigits: 0,
      maximumFractionDigits: 0,
    }).format(rounded);
  } catch {
    return `${rounded.toLocaleString("en-US")} ${currency}`; // not an ISO 4217 code
  }
}

/** Minutes under 2 h, hours under 2 days, else days; whole units elapsed, never negative. */
function duration(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 120) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h`;
  const days = Math.floor(minutes / (24 * 60));
  return `${days} days`;
}

/** One line of user text: control characters and whitespace runs become one space; lone surrogates U+FFFD. */
function clean(text: string): string {
  return text
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD")
    .replace(/[\s\p{Cc}]+/gu, " ")
    .trim();
}

/** Slack's three mrkdwn control characters as entities. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** User text for mrkdwn: cleaned, escaped, then cut to `max` without splitting an entity. */
function esc(text: string, max: number): string {
  return fitMrkdwn(escapeMrkdwn(clean(text)), max);
}

/** User text for plain_text: cleaned and cut to `max`. */
function plain(text: string, max: number): string {
  return truncateText(clean(text), max);
}

const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });

/**
 * `text` cut to at most `max` UTF-16 code units including the final "…", between grapheme
 * clusters (so never inside a surrogate pair or an emoji sequence).
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  // Past max + 1 nothing fits; a cluster cut there is dropped whole by cut().
  return cut(
    Array.from(graphemes.segment(text.slice(0, max + 1)), (s) => s.segment),
    max,
  );
}

/** Like truncateText for mrkdwn: `&amp;`-style entities and `<…>` tokens are never split. */
function fitMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  const units: string[] = [];
  let last = 0;
  for (const m of text.matchAll(/<[^<>]*>|&(?:amp|lt|gt);/g)) {
    for (const s of graphemes.segment(text.slice(last, m.index))) units.push(s.segment);
    units.push(m[0]);
    last = m.index + m[0].length;
    if (last > max) break; // everything after cannot fit
  }
  for (const s of graphemes.segment(text.slice(last, Math.max(last, max + 1)))) units.push(s.segment);
  return cut(units, max);
}

function cut(units: string[], max: number): string {
  if (max < ELLIPSIS.length) return "";
  let out = "";
  for (const unit of units) {
    if (out.length + unit.length + ELLIPSIS.length > max) break;
    out += unit;
  }
  return out + ELLIPSIS;
}
