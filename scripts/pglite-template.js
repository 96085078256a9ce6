// Saves a freshly initialised embedded database once, at install time (see src/store/pglite-template.ts):
// a new database then starts from it instead of running initdb, which peaks near 1 GB of memory.
// A failure here only costs that memory later: it never fails the install.
import { spawnSync } from "node:child_process";

const result = spawnSync(
  process.execPath,
  [
    "--import",
    "tsx",
    "-e",
    'const m = await import("./src/store/pglite-template.ts"); console.log(await m.writePgliteTemplate());',
  ],
  { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" },
);
if (result.status === 0) console.log(`pql-router: embedded database template at ${result.stdout.trim()}`);
else
  console.log(
    "pql-router: no embedded database template (a new database will run initdb, using more memory)",
  );
