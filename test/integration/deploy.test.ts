import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.ts";

const UNIT = path.join(ROOT, "deploy", "pql-router.service");
const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
const available = analyze.status === 0;

describe("the shipped systemd unit", () => {
  it("runs the worker, stops it with SIGTERM after the shutdown timeout, restarts on failure", () => {
    const unit = fs.readFileSync(UNIT, "utf8");
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/pql-router\/bin\/pql-router\.js worker$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    // Longer than the worker's default PQL_SHUTDOWN_TIMEOUT (30 s), so it can finish its cycle.
    expect(Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1])).toBeGreaterThan(30);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/pql-router\/env$/m);
  });

  it.skipIf(!available)("passes systemd-analyze verify", () => {
    const verify = spawnSync("systemd-analyze", ["verify", UNIT], { encoding: "utf8" });
    expect(verify.stderr).toBe("");
    expect(verify.status).toBe(0);
  });
});
