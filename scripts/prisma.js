// Runs the Prisma CLI offline: `node scripts/prisma.js <prisma args>`.
// Prisma 6 tries to download engines unless DATABASE_URL is set; without a real server we set a
// dummy one and let prisma.config.ts use an in-memory embedded database (PQL_PRISMA_EMBEDDED).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const cli = require.resolve("prisma/build/index.js");
const real = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? "");
const env = {
  ...process.env,
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  ...(real ? {} : { DATABASE_URL: "postgresql://offline@localhost/none", PQL_PRISMA_EMBEDDED: "1" }),
};
const result = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], { stdio: "inherit", env });
process.exit(result.status ?? 1);
