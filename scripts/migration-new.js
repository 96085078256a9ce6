// Writes a new migration from the change to prisma/schema.prisma:
//   npm run migration:new -- <name>
// Each migration folder keeps the schema it brings the database to (schema.prisma beside
// migration.sql); the new migration is the diff from the latest one's schema to the current.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: npm run migration:new -- <name in lower_snake_case>");
  process.exit(2);
}
const dir = "prisma/migrations";
const latest = fs
  .readdirSync(dir)
  .filter((d) => fs.existsSync(path.join(dir, d, "schema.prisma")))
  .sort()
  .at(-1);
const from = latest ? ["--from-schema-datamodel", path.join(dir, latest, "schema.prisma")] : ["--from-empty"];
const diff = spawnSync(
  process.execPath,
  [
    "scripts/prisma.js",
    "migrate",
    "diff",
    ...from,
    "--to-schema-datamodel",
    "prisma/schema.prisma",
    "--script",
  ],
  { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
);
if (diff.status !== 0) process.exit(diff.status ?? 1);
const sql = diff.stdout.replace(/-- CreateSchema\nCREATE SCHEMA IF NOT EXISTS "public";\n\n/, "");
if (!/\S/.test(sql.replace(/^--.*$/gm, ""))) {
  console.log("schema.prisma has no changes since the latest migration: nothing written");
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
const target = path.join(dir, `${stamp}_${name}`);
fs.mkdirSync(target);
fs.writeFileSync(path.join(target, "migration.sql"), sql);
fs.copyFileSync("prisma/schema.prisma", path.join(target, "schema.prisma"));
console.log(`wrote ${target}/migration.sql`);
