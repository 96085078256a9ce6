// Runs `prisma generate` offline. The Prisma 6 CLI tries to download engines unless
// DATABASE_URL is set (to anything); generation itself never connects.
import { execFileSync } from "node:child_process";

execFileSync("npx", ["prisma", "generate"], {
  stdio: "inherit",
  env: {
    ...process.env,
    DATABASE_URL: process.env.DATABASE_URL || "postgresql://offline@127.0.0.1/none",
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
  },
});
