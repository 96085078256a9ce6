import fs from "node:fs";
import { Random } from "../../src/sample/random.ts";

const DAY = 86_400_000;

/**
 * A world whose outcomes have known drivers, for judging tuning: each account has two hidden
 * levels drawn independently, intent and volume. Every week it visits /pricing about 3 x intent
 * times and adds candidates about 5 x volume times (plus a login), and converts with a weekly
 * hazard that rises with intent and with its ICP fit (company size) only: volume and the number
 * of users drive nothing. So a config weighting intent and ICP fit should beat one weighting
 * volume and active users, and thresholds found on one seed should hold on another.
 */
export function writeTuningWorld(options: {
  accounts: number;
  days: number;
  seed: number;
  end: Date;
  out: string;
}): {
  file: string;
  outcomesFile: string;
  converted: number;
  messages: number;
} {
  const { accounts, days, seed, end, out } = options;
  const rng = new Random(seed, 0);
  const lines: string[] = [];
  const outcomes = ["account_id,converted,converted_at,amount"];
  const endMs = end.getTime();
  const startMs = endMs - days * DAY;
  let converted = 0;
  const poisson = (mean: number) => {
    let n = 0;
    let p = Math.exp(-mean);
    let cdf = p;
    const u = rng.next();
    while (u > cdf && n < 100) {
      n++;
      p *= mean / n;
      cdf += p;
    }
    return n;
  };
  for (let a = 0; a < accounts; a++) {
    const id = `tw_${seed}_${String(a).padStart(5, "0")}`;
    const intent = rng.next();
    const volume = rng.next();
    const big = rng.next() < 0.5;
    const employees = big ? 300 + Math.floor(rng.next() * 1500) : 5 + Math.floor(rng.next() * 40);
    const users = 1 + Math.floor(rng.next() * 4);
    const signup = startMs + Math.floor(rng.next() * (days - 30)) * DAY + 10 * 3_600_000;
    const userIds = Array.from({ length: users }, (_, u) => `${id}_u${u}`);
    const msg = (m: Record<string, unknown>, at: number) => {
      lines.push(
        JSON.stringify({ messageId: `${id}_${lines.length}`, timestamp: new Date(at).toISOString(), ...m }),
      );
    };
    for (const userId of userIds) {
      msg(
        { type: "identify", userId, traits: { email: `${userId}@${id}.example`, title: "Engineer" } },
        signup,
      );
      msg(
        {
          type: "group",
          userId,
          groupId: id,
          traits: { name: `Company ${id}`, employees, industry: "Software", website: `${id}.example` },
        },
        signup + 1000,
      );
    }
    // A weekly hazard from the third week: intent and ICP fit drive it, nothing else.
    const hazard = 1 / (1 + Math.exp(-(-6.2 + 4.5 * intent + 1.2 * (big ? 1 : 0))));
    let convertedAt: number | null = null;
    for (let week = signup; week + 7 * DAY <= endMs; week += 7 * DAY) {
      for (let k = 0; k < 1 + poisson(3 * intent); k++) {
        const userId = userIds[Math.floor(rng.next() * users)] as string;
        const at = week + Math.floor(rng.next() * 7 * DAY);
        if (k === 0) msg({ type: "track", userId, event: "Logged In" }, at);
        else msg({ type: "page", userId, name: "Pricing", properties: { path: "/pricing" } }, at);
      }
      for (let k = 0; k < poisson(5 * volume); k++) {
        const userId = userIds[Math.floor(rng.next() * users)] as string;
        msg({ type: "track", userId, event: "Candidate Added" }, week + Math.floor(rng.next() * 7 * DAY));
      }
      if (week >= signup + 14 * DAY && rng.next() < hazard) {
        convertedAt = week + 7 * DAY - 3_600_000;
        break;
      }
    }
    if (convertedAt !== null) converted++;
    outcomes.push(
      `${id},${convertedAt !== null},${convertedAt !== null ? new Date(convertedAt).toISOString() : ""},${convertedAt !== null ? (big ? 24000 : 6000) : ""}`,
    );
  }
  fs.writeFileSync(out, `${lines.join("\n")}\n`);
  const outcomesFile = `${out}.outcomes.csv`;
  fs.writeFileSync(outcomesFile, `${outcomes.join("\n")}\n`);
  return { file: out, outcomesFile, converted, messages: lines.length };
}
