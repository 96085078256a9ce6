// Preloaded into a benchmarked process: prints its peak RSS to stderr as it exits.
import fs from "node:fs";

process.on("exit", () => {
  fs.writeSync(2, `\nBENCH_MAX_RSS_KB=${process.resourceUsage().maxRSS}\n`);
});
