import fs from "node:fs";
import path from "node:path";
import { StoreError } from "../errors.ts";

/**
 * The embedded database is one process's at a time. A lock file naming the owner turns a second
 * process into a clear error instead of a corrupted data directory; a lock left by a process that
 * is gone is taken over. The owner is its pid, the machine's boot id and the process's start time:
 * a pid alone is reused by the system (and a restarted container's pid 1 is another process), so
 * a live process that merely has the dead owner's pid never keeps the database locked.
 */
const heldHere = new Set<string>();

interface LockOwner {
  pid: number;
  /** The kernel's boot id: a lock from before a reboot has no live owner. */
  boot: string | null;
  /** When the process started, in clock ticks since boot (null where it cannot be read). */
  started: string | null;
}

/** How long a takeover may take before another process may assume its taker died. */
const TAKEOVER_STALE_MS = 10_000;

export function acquireDataDirLock(dataDir: string): () => void {
  const file = path.join(path.resolve(dataDir), "lock");
  const me: LockOwner = { pid: process.pid, boot: bootId(), started: processStart(process.pid) };
  const content = JSON.stringify(me);
  const release = () => {
    heldHere.delete(file);
    // Only our own lock: never one another process took over meanwhile.
    if (readText(file) === content) fs.rmSync(file, { force: true });
  };
  for (let attempt = 0; attempt < 20; attempt++) {
    if (createWhole(file, content)) {
      heldHere.add(file);
      return release;
    }
    const holder = readOwner(file);
    if (holder === "gone") continue; // released meanwhile: try again
    const self = holder !== null && holder.pid === process.pid && holder.started === me.started;
    if ((self && heldHere.has(file)) || (!self && holder !== null && isRunning(holder, me))) {
      throw new StoreError(
        `the embedded database in ${dataDir} is in use by another process (pid ${holder?.pid})`,
        {
          hint: "stop that process, or set DATABASE_URL to a PostgreSQL server to run several processes at once",
        },
      );
    }
    if (takeOver(file, holder, content)) {
      heldHere.add(file);
      return release;
    }
  }
  throw new StoreError(`cannot lock the embedded database in ${dataDir}`, {
    hint: "another process keeps taking the lock; stop the other pql-router processes using this PQL_DATA_DIR",
  });
}

/**
 * Replaces a stale lock with ours, one process at a time: the takeover itself is guarded by an
 * exclusive file, and the lock is re-read inside the guard, so two processes that both found it
 * stale cannot both end up holding it. false when someone else got there first.
 */
function takeOver(file: string, stale: LockOwner | null, content: string): boolean {
  const guard = `${file}.takeover`;
  if (!createWhole(guard, content)) {
    const age = Date.now() - (fs.statSync(guard, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > TAKEOVER_STALE_MS) fs.rmSync(guard, { force: true }); // its taker died
    return false;
  }
  try {
    const now = readOwner(file);
    if (now === "gone") return createWhole(file, content);
    if (JSON.stringify(now) !== JSON.stringify(stale)) return false; // changed hands meanwhile
    const aside = `${file}.${process.pid}.${Date.now()}`;
    fs.writeFileSync(aside, content);
    fs.renameSync(aside, file); // atomic: readers see the old owner or us, never nothing
    return true;
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

/**
 * Creates `file` with its whole content at once; false when it exists. Written aside, then
 * linked into place, so another process never reads a lock that is still empty (where hard links
 * are not supported, an exclusive create).
 */
function createWhole(file: string, content: string): boolean {
  const aside = `${file}.${process.pid}.${Date.now()}.new`;
  fs.writeFileSync(aside, content);
  try {
    fs.linkSync(aside, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw error;
    try {
      fs.writeFileSync(file, content, { flag: "wx" });
      return true;
    } catch (fallback) {
      if ((fallback as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw fallback;
    }
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/**
 * The owner a lock file names: JSON, or a bare pid (files written before the start time was
 * kept). null when unreadable (a torn file of a process that died writing it); "gone" when the
 * file no longer exists.
 */
function readOwner(file: string): LockOwner | null | "gone" {
  const text = readText(file)?.trim();
  if (text === undefined) return "gone";
  if (/^\d+$/.test(text)) return { pid: Number(text), boot: null, started: null };
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (typeof owner.pid === "number" && Number.isInteger(owner.pid) && owner.pid > 0) {
      return {
        pid: owner.pid,
        boot: typeof owner.boot === "string" ? owner.boot : null,
        started: typeof owner.started === "string" ? owner.started : null,
      };
    }
  } catch {
    // unreadable
  }
  return null;
}

/** Whether the lock's owner still runs: same boot, a live pid and, where known, the same start time. */
function isRunning(owner: LockOwner, me: LockOwner): boolean {
  if (owner.boot !== null && me.boot !== null && owner.boot !== me.boot) return false;
  if (owner.pid === me.pid) return false; // not this process (checked before): one that had our pid
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

/** The kernel's boot id (Linux), or null. */
function bootId(): string | null {
  return readText("/proc/sys/kernel/random/boot_id")?.trim() || null;
}

/**
 * A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), which differs
 * between two processes that had the same pid. null where /proc is not available.
 */
export function processStart(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19] ?? null;
}
