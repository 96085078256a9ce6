import { describe, expect, it } from "vitest";
import {
  chDateTime,
  chDateTime64,
  chEpochMs,
  chIdentifier,
  chNumber,
  chString,
  chStringArray,
} from "../../src/integrations/clickhouse/literals.ts";

// Expectations are written out by hand: String.raw keeps each backslash as typed.
describe("chString", () => {
  it("quotes plain text", () => {
    expect(chString("")).toBe("''");
    expect(chString("Signup Completed")).toBe("'Signup Completed'");
  });

  it("escapes the quote and the backslash, and nothing else printable", () => {
    expect(chString("it's")).toBe(String.raw`'it\'s'`);
    expect(chString(String.raw`C:\temp`)).toBe(String.raw`'C:\\temp'`);
    expect(chString(String.raw`\'`)).toBe(String.raw`'\\\''`);
    expect(chString("'; DROP TABLE events; --")).toBe(String.raw`'\'; DROP TABLE events; --'`);
    expect(chString('say "hi" `now`')).toBe("'say \"hi\" `now`'");
  });

  it("writes control characters as escapes, NUL as \\x00", () => {
    expect(chString("a\nb\rc\td")).toBe(String.raw`'a\nb\rc\td'`);
    expect(chString("a\u0000b")).toBe(String.raw`'a\x00b'`);
    // \x00 then the digit 1: ClickHouse reads exactly two hex digits after \x.
    expect(chString("\u00001")).toBe(String.raw`'\x001'`);
    expect(chString("\u0007\u001b\u007f")).toBe(String.raw`'\x07\x1b\x7f'`);
  });

  it("keeps non-ASCII text as it is (sent as UTF-8)", () => {
    expect(chString("café 😀 שלום \u202Eevil")).toBe("'café 😀 שלום \u202Eevil'");
    expect(chString("\u{1F600}")).toBe("'\u{D83D}\u{DE00}'");
  });

  it("refuses lone surrogates and non-strings", () => {
    expect(() => chString("\uD83D")).toThrow(/lone UTF-16 surrogate/);
    expect(() => chString("a\uDE00b")).toThrow(/lone UTF-16 surrogate/);
    expect(() => chString(5 as unknown as string)).toThrow(TypeError);
  });
});

describe("chStringArray", () => {
  it("lists quoted strings", () => {
    expect(chStringArray([])).toBe("emptyArrayString()");
    expect(chStringArray(["a"])).toBe("['a']");
    expect(chStringArray(["a", "b'c", "d\\"])).toBe(String.raw`['a', 'b\'c', 'd\\']`);
  });
});

describe("chNumber", () => {
  it("writes finite numbers, negative ones in parentheses", () => {
    expect(chNumber(0)).toBe("0");
    expect(chNumber(-0)).toBe("0");
    expect(chNumber(42)).toBe("42");
    expect(chNumber(0.1)).toBe("0.1");
    expect(chNumber(1e-7)).toBe("1e-7");
    expect(chNumber(-5)).toBe("(-5)");
    expect(chNumber(-2.5)).toBe("(-2.5)");
    expect(chNumber(9007199254740991)).toBe("9007199254740991");
    expect(chNumber(-9007199254740991)).toBe("(-9007199254740991)");
    expect(chNumber(2.2250738585072014e-308)).toBe("2.2250738585072014e-308");
  });

  it("refuses what has no exact literal", () => {
    expect(() => chNumber(Number.NaN)).toThrow(/finite/);
    expect(() => chNumber(Number.POSITIVE_INFINITY)).toThrow(/finite/);
    expect(() => chNumber(Number.NEGATIVE_INFINITY)).toThrow(/finite/);
    expect(() => chNumber(2 ** 53)).toThrow(/2\^53/);
    expect(() => chNumber(1e21)).toThrow(/2\^53/);
    expect(() => chNumber(5e-324)).toThrow(/too close to zero/);
    expect(() => chNumber("1" as unknown as number)).toThrow(/finite/);
  });
});

describe("timestamps", () => {
  const at = new Date("2024-02-03T04:05:06.789Z");

  it("chEpochMs is the epoch milliseconds", () => {
    expect(chEpochMs(at)).toBe("1706933106789");
    expect(chEpochMs(new Date(0))).toBe("0");
    expect(chEpochMs(new Date(-1))).toBe("(-1)");
    expect(() => chEpochMs(new Date("nope"))).toThrow(/valid Date/);
  });

  it("chDateTime is whole UTC seconds within 1970..2105", () => {
    expect(chDateTime(new Date("2024-02-03T04:05:06Z"))).toBe("toDateTime('2024-02-03 04:05:06', 'UTC')");
    expect(chDateTime(new Date(0))).toBe("toDateTime('1970-01-01 00:00:00', 'UTC')");
    expect(chDateTime(new Date("2105-12-31T23:59:59Z"))).toBe("toDateTime('2105-12-31 23:59:59', 'UTC')");
    expect(() => chDateTime(at)).toThrow(/milliseconds/);
    expect(() => chDateTime(new Date("1969-12-31T23:59:59Z"))).toThrow(/range/);
    expect(() => chDateTime(new Date("2106-01-01T00:00:00Z"))).toThrow(/range/);
  });

  it("chDateTime64 keeps milliseconds (current servers only)", () => {
    expect(chDateTime64(at)).toBe("toDateTime64('2024-02-03 04:05:06.789', 3, 'UTC')");
    expect(chDateTime64(new Date(0))).toBe("toDateTime64('1970-01-01 00:00:00.000', 3, 'UTC')");
    expect(() => chDateTime64(new Date("2300-01-01T00:00:00Z"))).toThrow(/range/);
    expect(() => chDateTime64(new Date(-1))).toThrow(/range/);
  });
});

describe("chIdentifier", () => {
  it("backquotes names, escaping the backquote and the backslash", () => {
    expect(chIdentifier("events")).toBe("`events`");
    expect(chIdentifier("we`ird")).toBe("`we\\`ird`");
    expect(chIdentifier("a\\b")).toBe("`a\\\\b`");
    expect(chIdentifier("it's")).toBe("`it's`");
    expect(chIdentifier("db.table")).toBe("`db.table`");
    expect(chIdentifier("événements")).toBe("`événements`");
  });

  it("refuses empty, overlong and control-character names", () => {
    expect(() => chIdentifier("")).toThrow(/1 to 255/);
    expect(() => chIdentifier("x".repeat(256))).toThrow(/1 to 255/);
    expect(chIdentifier("x".repeat(255))).toBe(`\`${"x".repeat(255)}\``);
    expect(() => chIdentifier("a\nb")).toThrow(/control characters/);
    expect(() => chIdentifier("a\u0000b")).toThrow(/control characters/);
    expect(() => chIdentifier("\uD800")).toThrow(/lone UTF-16 surrogate/);
  });
});
