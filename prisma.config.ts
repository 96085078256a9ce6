// Prisma CLI configuration (Prisma 6.19, offline): the JS engine with a driver adapter, so the
// CLI never downloads a native schema engine. DATABASE_URL must be set (any value) whenever the
// CLI runs; `scripts/prisma-generate.js` does that for `prisma generate`.
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  async adapter() {
    return new PrismaPg({ connectionString: process.env.DATABASE_URL ?? "" });
  },
});
