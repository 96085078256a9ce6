import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { StoreError } from "../errors.ts";

/**
 * The embedded database is one process's at a time. A lock file naming the owner turns a second
 * process into a clear error instead of a corrupted data directory; a lock left by a dead process
 * is taken over. The owner is its pid, its host and its start time: a pid alone is reused by the
 * system, and an unrelated process that got the dead owner's pid must not keep the database locked.
 */
const heldHere = new Set<string>();

interface LockOwner {
  pid: number;
  host: string | null;
  /** When the process started, as the system tells it (null where it cannot be read). */
  started: string | null;
}

export function acquireDataDirLock(dataDir: string): () => void {
  const file = path.join(dataDir, "lock");
  const host = os.hostname();
  const me: LockOwner = { pid: process.pid, host, started: processStart(process.pid) };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      createWhole(file, JSON.stringify(me));
      heldHere.add(file);
      return () => {
        heldHere.delete(file);
        fs.rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = readOwner(file);
      const self = holder?.pid === process.pid && holder.host === host;
      if ((self && heldHere.has(file)) || (!self && holder !== null && isRunning(holder, host))) {
        const where = holder?.host && holder.host !== host ? ` on ${holder.host}` : "";
        throw new StoreError(
          `the embedded database in ${dataDir} is in use by another process (pid ${holder?.pid}${where})`,
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

/**
 * Creates `file` with its whole content at once, or fails with EEXIST: written aside, then linked
 * into place, so another process never reads a lock that is still empty.
 */
function createWhole(file: string, content: string): void {
  const aside = `${file}.${process.pid}.${Date.now()}`;
  fs.writeFileSync(aside, content);
  try {
    fs.linkSync(aside, file);
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

/** The owner a lock file names: JSON, or a bare pid (files written before the start time was kept). */
function readOwner(file: string): LockOwner | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8").trim();
  } catch {
    return null; // removed meanwhile: the next attempt takes it
  }
  if (/^\d+$/.test(text)) return { pid: Number(text), host: null, started: null };
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (typeof owner.pid === "number" && Number.isInteger(owner.pid) && owner.pid > 0) {
      return {
        pid: owner.pid,
        host: typeof owner.host === "string" ? owner.host : null,
        started: typeof owner.started === "string" ? owner.started : null,
      };
    }
  } catch {
    // unreadable: a torn write of a process that died while taking the lock
  }
  return null;
}

/** Whether the lock's owner still runs: same pid and, where known, the same start time. */
function isRunning(owner: LockOwner, host: string): boolean {
  // Another machine's process (a shared directory) cannot be checked from here: assume it runs.
  if (owner.host !== null && owner.host !== host) return true;
  if (!pidAlive(owner.pid)) return false;
  if (owner.started === null) return true;
  const started = processStart(owner.pid);
  return started === null || started === owner.started;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), which differs
 * between two processes that had the same pid. null where /proc is not available.
 */
export function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? null;
  } catch {
    return null;
  }
}
