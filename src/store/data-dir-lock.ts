import fs from "node:fs";
import path from "node:path";
import { StoreError } from "../errors.ts";

/**
 * The embedded database is one process's at a time. A lock file holding our pid turns a second
 * process into a clear error instead of a corrupted data directory; a lock left by a dead
 * process is taken over.
 */
const heldHere = new Set<string>();

export function acquireDataDirLock(dataDir: string): () => void {
  const file = path.join(dataDir, "lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      heldHere.add(file);
      return () => {
        heldHere.delete(file);
        fs.rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(fs.readFileSync(file, "utf8"));
      const self = holder === process.pid;
      if (
        (self && heldHere.has(file)) ||
        (!self && Number.isInteger(holder) && holder > 0 && isAlive(holder))
      ) {
        throw new StoreError(
          `the embedded database in ${dataDir} is in use by another process (pid ${holder})`,
          {
            hint: "stop that process, or set DATABASE_URL to a PostgreSQL server to run several processes at once",
          },
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new StoreError(`cannot lock the embedded database in ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
