import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireDataDirLock, processStart } from "../../../src/store/data-dir-lock.ts";
import { ROOT } from "../../helpers/cli.ts";
import { tempDir } from "../../helpers/databases.ts";

describe.skipIf(process.platform !== "linux")("the embedded database's lock file", () => {
  let other: ChildProcess;
  beforeAll(() => {
    // A live process that has nothing to do with any database.
    other = spawn("sleep", ["60"], { stdio: "ignore" });
  });
  afterAll(() => {
    other?.kill("SIGKILL");
  });
  const lockOf = (dir: string) => path.join(dir, "lock");
  /** The lock this process writes, as an object (pid, boot, started). */
  const myLock = (): { pid: number; boot: string; started: string } => {
    const dir = tempDir();
    const release = acquireDataDirLock(dir);
    const owner = JSON.parse(fs.readFileSync(lockOf(dir), "utf8"));
    release();
    return owner;
  };

  it("refuses a second holder in the same process, and is free again once released", () => {
    const dir = tempDir();
    const release = acquireDataDirLock(dir);
    expect(() => acquireDataDirLock(dir)).toThrow(/is in use by another process \(pid \d+\)/);
    // The same directory by another spelling is the same lock.
    expect(() => acquireDataDirLock(`${dir}/./`)).toThrow(/is in use/);
    release();
    expect(fs.existsSync(lockOf(dir))).toBe(false);
    acquireDataDirLock(dir)();
  });

  it("is taken over when its pid now belongs to an unrelated live process (pid reuse)", () => {
    const dir = tempDir();
    // The lock as this process writes it, then this process "dies" and its pid goes to `other`.
    acquireDataDirLock(dir);
    const written = fs.readFileSync(lockOf(dir), "utf8");
    fs.writeFileSync(lockOf(dir), written.replace(String(process.pid), String(other.pid)));
    const release = acquireDataDirLock(dir);
    expect(JSON.parse(fs.readFileSync(lockOf(dir), "utf8"))).toMatchObject({ pid: process.pid });
    release();
  });

  it("is refused while the process it names, started when it says, still runs", () => {
    const dir = tempDir();
    const started = processStart(other.pid as number);
    expect(started).toMatch(/^\d+$/);
    fs.writeFileSync(lockOf(dir), JSON.stringify({ ...myLock(), pid: other.pid, started }));
    expect(() => acquireDataDirLock(dir)).toThrow(`is in use by another process (pid ${other.pid})`);
    // A lock written before start times were kept (a bare pid) of a live process is refused too.
    fs.writeFileSync(lockOf(dir), String(other.pid));
    expect(() => acquireDataDirLock(dir)).toThrow(`is in use by another process (pid ${other.pid})`);
  });

  it("is taken over from before a reboot, from this process's own pid in another life, from a dead process and from a torn file", () => {
    const dir = tempDir();
    const started = processStart(other.pid as number);
    fs.writeFileSync(lockOf(dir), JSON.stringify({ pid: other.pid, boot: "another-boot", started }));
    acquireDataDirLock(dir)();
    // A container restarted with the same pid (a bare pid from the old format, or another start).
    fs.writeFileSync(lockOf(dir), String(process.pid));
    acquireDataDirLock(dir)();
    fs.writeFileSync(lockOf(dir), JSON.stringify({ ...myLock(), started: "1" }));
    acquireDataDirLock(dir)();
    // Above the largest pid Linux hands out (2^22): no process has it.
    fs.writeFileSync(lockOf(dir), JSON.stringify({ ...myLock(), pid: 2 ** 22 + 17 }));
    acquireDataDirLock(dir)();
    fs.writeFileSync(lockOf(dir), '{"pid": 12');
    acquireDataDirLock(dir)();
  });

  it("is never removed by a holder whose lock was taken over", () => {
    const dir = tempDir();
    const release = acquireDataDirLock(dir);
    const taker = JSON.stringify({ ...myLock(), pid: other.pid, started: processStart(other.pid as number) });
    fs.writeFileSync(lockOf(dir), taker);
    release();
    expect(fs.readFileSync(lockOf(dir), "utf8")).toBe(taker);
  });

  it("goes to exactly one of several processes taking over a stale lock at once", async () => {
    const dir = tempDir();
    fs.writeFileSync(lockOf(dir), JSON.stringify({ ...myLock(), pid: 2 ** 22 + 17 }));
    // Every child waits for the same instant, so their takeovers really overlap; a winner holds
    // the lock until the test has every answer (a late starter must find it held, not stale).
    const startAt = Date.now() + 4_000;
    const script = `
      import { acquireDataDirLock } from ${JSON.stringify(path.join(ROOT, "src/store/data-dir-lock.ts"))};
      while (Date.now() < ${startAt}) {}
      try { acquireDataDirLock(${JSON.stringify(dir)}); console.log("won"); setTimeout(() => {}, 60_000); }
      catch (error) { console.log(error.message.includes("in use") ? "refused" : "error: " + error.message); }`;
    const children: ChildProcess[] = [];
    const outputs = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<string>((resolve) => {
            const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
              cwd: ROOT,
              stdio: ["ignore", "pipe", "inherit"],
            });
            children.push(child);
            let out = "";
            child.stdout.on("data", (d) => {
              out += d;
              if (out.includes("\n")) resolve(out.trim());
            });
            child.on("close", () => resolve(out.trim()));
          }),
      ),
    );
    for (const child of children) child.kill("SIGKILL");
    expect(outputs.sort()).toEqual(["refused", "refused", "refused", "refused", "refused", "won"]);
  });
});
