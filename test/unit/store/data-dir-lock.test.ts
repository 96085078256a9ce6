import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireDataDirLock, processStart } from "../../../src/store/data-dir-lock.ts";
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

  it("refuses a second holder in the same process, and is free again once released", () => {
    const dir = tempDir();
    const release = acquireDataDirLock(dir);
    expect(() => acquireDataDirLock(dir)).toThrow(/is in use by another process \(pid \d+\)/);
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
    const owner = { pid: other.pid, host: os.hostname(), started };
    fs.writeFileSync(lockOf(dir), JSON.stringify(owner));
    expect(() => acquireDataDirLock(dir)).toThrow(`is in use by another process (pid ${other.pid})`);
    // A lock written before start times were kept (a bare pid) of a live process is refused too.
    fs.writeFileSync(lockOf(dir), String(other.pid));
    expect(() => acquireDataDirLock(dir)).toThrow(`is in use by another process (pid ${other.pid})`);
  });

  it("is taken over from a dead process, and from a torn, unreadable file", () => {
    const dir = tempDir();
    // Above the largest pid Linux hands out (2^22): no process has it.
    fs.writeFileSync(lockOf(dir), JSON.stringify({ pid: 2 ** 22 + 17, host: null, started: "1" }));
    acquireDataDirLock(dir)();
    fs.writeFileSync(lockOf(dir), '{"pid": 12');
    acquireDataDirLock(dir)();
  });
});
