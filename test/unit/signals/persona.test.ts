import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load-config.ts";
import { personaMatcher } from "../../../src/signals/persona.ts";
import { ROOT } from "../../helpers/cli.ts";

const { config } = loadConfig(path.join(ROOT, "pql-router.config.yaml"));
const personaOf = personaMatcher(config.personas);

describe("personaMatcher (with the shipped config)", () => {
  it.each([
    ["Chief People Officer", "people_ops_leader"],
    ["VP, People", "people_ops_leader"],
    ["Head of People", "people_ops_leader"],
    ["CFO", "finance"],
    ["Payroll Specialist", "finance"],
    ["HR Manager", "hr_admin"],
    ["Human Resources Coordinator", "hr_admin"],
    ["Senior Technical Recruiter", "recruiter"],
    ["Talent Acquisition Partner", "recruiter"],
    ["Engineering Manager", "hiring_manager"],
    ["Founder", "hiring_manager"],
    ["Office Wizard", null],
    ["", null],
  ])("maps the title %j to %s (first matching persona wins)", (title, expected) => {
    expect(personaOf({ title, persona: null })).toBe(expected);
  });

  it("lets a persona or role trait win over the title, case-insensitively", () => {
    expect(personaOf({ title: "CFO", persona: "Recruiter" })).toBe("recruiter");
    expect(personaOf({ title: "CFO", persona: "people leader" })).toBe("people_ops_leader");
    expect(personaOf({ title: "CFO", persona: "astronaut" })).toBe("finance");
    expect(personaOf({ title: null, persona: null })).toBeNull();
  });
});
