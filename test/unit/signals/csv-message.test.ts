import { describe, expect, it } from "vitest";
import { csvRowToMessage, unknownCsvColumns } from "../../../src/signals/csv-message.ts";

describe("csvRowToMessage", () => {
  it("builds a track call with dotted property columns and the account in context.groupId", () => {
    const result = csvRowToMessage({
      type: "track",
      userId: "u1",
      event: "Offer Letter Sent",
      groupId: "acct_1",
      timestamp: "2026-10-01T10:00:00Z",
      "properties.salary": "85000",
      "properties.remote": "true",
      "properties.title": "Engineer",
      context: "",
    });
    expect(result).toEqual({
      ok: true,
      value: {
        type: "track",
        userId: "u1",
        event: "Offer Letter Sent",
        timestamp: "2026-10-01T10:00:00Z",
        properties: { salary: 85000, remote: true, title: "Engineer" },
        context: { groupId: "acct_1" },
      },
    });
  });

  it("puts groupId on a group row and parses JSON columns", () => {
    const result = csvRowToMessage({
      type: "group",
      userId: "u1",
      groupId: "acct_1",
      traits: '{"employees":250}',
    });
    expect(result).toEqual({
      ok: true,
      value: { type: "group", userId: "u1", groupId: "acct_1", traits: { employees: 250 } },
    });
  });

  it("rejects a JSON column that is not a JSON object", () => {
    expect(csvRowToMessage({ type: "identify", userId: "u1", traits: "{oops" })).toEqual({
      ok: false,
      reason: "column traits: not valid JSON: {oops",
    });
    expect(csvRowToMessage({ type: "identify", userId: "u1", traits: "[1]" })).toEqual({
      ok: false,
      reason: "column traits: expected a JSON object, got [1]",
    });
  });

  it("names unknown header columns", () => {
    expect(unknownCsvColumns(["type", "userId", "traits.title", "evnt", "props.x"])).toEqual([
      "evnt",
      "props.x",
    ]);
  });
});
