import { describe, expect, it } from "vitest";
import { loadSettings, redactUrl } from "../../../src/config/settings.ts";

describe("loadSettings", () => {
  it("uses the embedded database and documented defaults when nothing is set", () => {
    const s = loadSettings({}, "/srv/app");
    expect(s).toMatchObject({
      databaseUrl: undefined,
      dataDir: "/srv/app/.pql-router",
      configPath: "/srv/app/pql-router.config.yaml",
      port: 3000,
      logLevel: "info",
      hubspotBaseUrl: "https://api.hubapi.com",
      slackApiUrl: "https://slack.com/api/",
    });
  });

  it("names every bad setting and its value, but never a secret's value", () => {
    expect(() =>
      loadSettings({ PORT: "eighty", LOG_LEVEL: "loud", DATABASE_URL: "mysql://root:hunter2@db/x" }),
    ).toThrowError(/PORT: expected a port number, got "eighty"/);
    let message = "";
    expect(() => {
      try {
        loadSettings({ DATABASE_URL: "mysql://root:hunter2@db/x", LOG_LEVEL: "loud" });
      } catch (error) {
        message = (error as Error).message;
        throw error;
      }
    }).toThrow();
    expect(message).toContain("DATABASE_URL: expected a postgresql:// URL");
    expect(message).toContain("(value hidden: it is a secret)");
    expect(message).toContain('LOG_LEVEL: Invalid option: expected one of "fatal"');
    expect(message).not.toContain("hunter2");
  });

  it("shows a URL setting's value with its password hidden", () => {
    expect(() => loadSettings({ HUBSPOT_BASE_URL: "http://relay:pw-secret@" })).toThrow(
      'HUBSPOT_BASE_URL: Invalid URL, got "http://relay:***@"',
    );
  });

  it("treats an empty variable as unset", () => {
    expect(loadSettings({ DATABASE_URL: "", PQL_INGEST_WRITE_KEY: " " }).databaseUrl).toBeUndefined();
  });
});

describe("redactUrl", () => {
  it("hides the password", () => {
    expect(redactUrl("postgresql://pql:s3cret@db:5432/pql")).toBe("postgresql://pql:***@db:5432/pql");
    expect(redactUrl("postgresql://db/pql")).toBe("postgresql://db/pql");
  });
});
