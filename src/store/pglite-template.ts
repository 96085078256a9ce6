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
 * Initialises `dbDir` (absent or empty) from the template: copied aside and renamed into place,
 * so a crash mid-copy never leaves half a database (a copy left by a crash is swept first). false
 * when there is no template, `dbDir` holds other files, or the copy fails: PGlite then runs initdb.
 * The caller holds the data directory's lock.
 */
export function copyPgliteTemplate(dbDir: string): boolean {
  const template = pgliteTemplateDir();
  if (!fs.existsSync(path.join(template, "PG_VERSION"))) return false;
  if (fs.existsSync(dbDir) && fs.readdirSync(dbDir).length > 0) return false;
  const parent = path.dirname(dbDir);
  const prefix = `${path.basename(dbDir)}.`;
  for (const name of fs.readdirSync(parent))
    if (name.startsWith(prefix) && name.endsWith(".tmp"))
      fs.rmSync(path.join(parent, name), { recursive: true, force: true });
  const partial = `${dbDir}.${process.pid}.tmp`;
  try {
    fs.cpSync(template, partial, { recursive: true });
    fs.rmSync(dbDir, { recursive: true, force: true }); // empty, checked above
    fs.renameSync(partial, dbDir);
    return true;
  } catch {
    fs.rmSync(partial, { recursive: true, force: true });
    return false;
  }
}

/**
 * Makes the template (an empty database, as initdb leaves it), unless it exists: initialised
 * aside, made read-only to others, then renamed into place; templates of other PGlite versions
 * are removed. Two installs at once both make one, and the second to finish discards its own.
 */
export async function writePgliteTemplate(): Promise<string> {
  const template = pgliteTemplateDir();
  if (fs.existsSync(path.join(template, "PG_VERSION"))) return template;
  const partial = `${template}.${process.pid}.tmp`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(partial), { recursive: true });
  const db = await PGlite.create(partial);
  await db.close();
  withoutGroupOrOtherWrite(partial);
  try {
    fs.renameSync(partial, template);
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    if (!fs.existsSync(path.join(template, "PG_VERSION"))) throw error;
  }
  const cache = path.dirname(template);
  for (const name of fs.readdirSync(cache)) {
    const other = path.join(cache, name);
    if (other !== template && /^pglite-.+-datadir$/.test(name))
      fs.rmSync(other, { recursive: true, force: true });
  }
  return template;
}

function withoutGroupOrOtherWrite(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    // parentPath from Node 20.12; `path` before it.
    const parent = entry.parentPath ?? (entry as unknown as { path: string }).path;
    const file = path.join(parent, entry.name);
    fs.chmodSync(file, fs.statSync(file).mode & ~0o022);
  }
  fs.chmodSync(dir, fs.statSync(dir).mode & ~0o022);
}
