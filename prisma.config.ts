// Prisma CLI configuration (Prisma 6.19, offline): the JS engine with a driver adapter, so the
// CLI never downloads a native schema engine. DATABASE_URL must be set to a postgresql:// URL
// whenever the CLI runs (any value: scripts/prisma.js sets a dummy). With PQL_PRISMA_EMBEDDED=1
// the CLI works on an in-memory embedded database instead, so `migrate diff` needs no server.
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { defineConfig } from "prisma/config";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  async adapter() {
    if (process.env.PQL_PRISMA_EMBEDDED === "1") return new PrismaPGlite(await PGlite.create());
    return new PrismaPg({ connectionString: process.env.DATABASE_URL ?? "" });
  },
});
