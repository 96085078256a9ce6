import { describe, expect, it } from "vitest";
import { accountFields, domainOf, userFields } from "../../../src/signals/traits.ts";

describe("accountFields", () => {
  it("reads Segment's reserved and documented traits, coercing numbers and lists", () => {
    expect(
      accountFields({
        name: " Acme ",
        website: "https://www.Acme.example/about",
        employees: "1,200",
        employee_count: 900,
        industry: "Software",
        region: "EMEA",
        plan: "trial",
        seats: 12.4,
        mrr: "499.5",
        techStack: "BambooHR, Slack,,",
      }),
    ).toEqual({
      name: "Acme",
      domain: "acme.example",
      employees: 1200,
      industry: "Software",
      region: "EMEA",
      plan: "trial",
      seats: 12,
      mrr: 499.5,
      tech_stack: ["BambooHR", "Slack"],
    });
  });

  it("ignores values of the wrong shape instead of failing the message", () => {
    expect(accountFields({ employees: -5, seats: "many", mrr: null, tech_stack: 3, name: "" })).toEqual({});
    expect(
      accountFields({ employees: 250, domain: "acme.example", website: "https://other.example" }),
    ).toEqual({
      employees: 250,
      domain: "acme.example",
    });
  });
});

describe("userFields", () => {
  it("lower-cases email and takes the persona from persona or role", () => {
    expect(userFields({ email: "Ana@Acme.Example", title: "VP People", role: "people_ops_leader" })).toEqual({
      email: "ana@acme.example",
      title: "VP People",
      persona: "people_ops_leader",
    });
    expect(userFields({ jobTitle: "Recruiter" })).toEqual({ title: "Recruiter" });
  });
});

describe("domainOf", () => {
  it.each([
    ["acme.example", "acme.example"],
    ["http://WWW.acme.example:8080/x", "acme.example"],
    ["localhost", undefined],
    ["not a url at all", undefined],
    [undefined, undefined],
  ])("%s -> %s", (input, expected) => {
    expect(domainOf(input)).toBe(expected);
  });
});
