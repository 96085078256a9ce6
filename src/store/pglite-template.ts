import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";

/**
 * A freshly initialised embedded data directory, made once (at `npm install`, by
 * scripts/pglite-template.js) and copied for every new database. PostgreSQL's initdb, run inside
 * the process, peaks near 1 GB of memory that the process then keeps (WebAssembly memory never
 * shrinks); a copied directory opens like any existing database. The template is specific to the
 * installed PGlite version, so its name carries the version.
 */
export function pgliteTemplateDir(): string {
  // The package's directory: its entry point's, up to its package.json (which it does not export).
  let dir = path.dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
  while (!fs.existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const { version } = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
    version: string;
  };
  // node_modules/.cache/pql-router, beside the PGlite package: where tools keep build caches.
  return path.join(path.resolve(dir, "..", ".."), ".cache", "pql-router", `pglite-${version}-datadir`);
}

/**
 * Initialises `dbDir` (which must not hold a database) from the template, copied aside and renamed
 * into place so that a crash mid-copy never leaves half a database; false when there is no
 * template (PGlite then runs initdb).
 */
export function copyPgliteTemplate(dbDir: string): boolean {
  const template = pgliteTemplateDir();
  if (!fs.existsSync(path.join(template, "PG_VERSION"))) return false;
  const partial = `${dbDir}.${process.pid}.tmp`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.cpSync(template, partial, { recursive: true });
  fs.rmSync(dbDir, { recursive: true, force: true }); // an empty or half-made directory
  fs.renameSync(partial, dbDir);
  return true;
}

/** Makes the template (an empty database, as initdb leaves it), unless it exists. */
export async function writePgliteTemplate(): Promise<string> {
  const template = pgliteTemplateDir();
  if (fs.existsSync(path.join(template, "PG_VERSION"))) return template;
  const partial = `${template}.${process.pid}.tmp`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(partial), { recursive: true });
  const db = await PGlite.create(partial);
  await db.close();
  fs.rmSync(template, { recursive: true, force: true });
  fs.renameSync(partial, template);
  return template;
}
