#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx pql-router` works right after `npm install`.
import v8 from "node:v8";

// On the embedded database (no DATABASE_URL: a laptop, a trial), the process also holds the
// database: V8 grows its heap by 10% instead of doubling it between collections, which keeps the
// process under 400 MB (see docs/decisions.md). PostgreSQL deployments keep V8's defaults.
if ((process.env.DATABASE_URL ?? "").trim() === "") v8.setFlagsFromString("--heap-growing-percent=10");

const { register } = await import("tsx/esm/api");
register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
