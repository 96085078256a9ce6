#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx pql-router` works right after `npm install`.
import v8 from "node:v8";

// On the embedded database (no DATABASE_URL: a laptop, a trial), memory matters more than the
// last tenth of speed: V8 collects garbage sooner and keeps its heap small (see docs/decisions.md).
if ((process.env.DATABASE_URL ?? "").trim() === "") v8.setFlagsFromString("--optimize-for-size");

const { register } = await import("tsx/esm/api");
register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
