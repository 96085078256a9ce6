import { afterEach, describe, expect, it } from "vitest";
import { FakeHubSpot, type FakeHubSpotOptions } from "../../helpers/fake-hubspot.ts";

const TOKEN = "test-token";
const running: FakeHubSpot[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.stop()));
});

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

interface Client {
  fake: FakeHubSpot;
  base: string;
  call(
    method: string,
    path: string,
    body?: unknown,
    init?: { token?: string | null; raw?: string },
  ): Promise<Answer>;
}

async function startFake(options: FakeHubSpotOptions = {}): Promise<Client> {
  const fake = new FakeHubSpot(options);
  running.push(fake);
  const base = await fake.start();
  return {
    fake,
    base,
    async call(method, path, body, init = {}) {
      const headers: Record<string, string> = {};
      const token = init.token === undefined ? TOKEN : init.token;
      if (token !== null) headers.Authorization = `Bearer ${token}`;
      const payload = init.raw ?? (body === undefined ? undefined : JSON.stringify(body));
      if (payload !== undefined) headers["Content-Type"] = "application/json";
      const res = await fetch(`${base}${path}`, { method, headers, body: payload });
      const text = await res.text();
      return { status: res.status, body: text === "" ? undefined : JSON.parse(text), headers: res.headers };
    },
  };
}

/** Reads a nested value from an unknown JSON body. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function ids(body: unknown): string[] {
  const results = at(body, "results");
  return Array.isArray(results) ? results.map((r) => String(at(r, "id"))) : [];
}

const DUE = "2026-01-15T09:00:00.000Z";
const UNIQUE_PROP = {
  name: "pql_account_id",
  label: "PQL account id",
  type: "string",
  fieldType: "text",
  groupName: "companyinformation",
  hasUniqueValue: true,
};

async function withUniqueProperty(c: Client): Promise<void> {
  const created = await c.call("POST", "/crm/v3/properties/companies/batch/create", {
    inputs: [UNIQUE_PROP],
  });
  expect(created.status).toBe(201);
}

describe("authentication and routing", () => {
  it("answers 401 without the bearer token, never echoing it, and does not spend budget", async () => {
    const c = await startFake({ token: "s3cret-token", perTenSeconds: 5 });
    const missing = await c.call("GET", "/crm/v3/owners", undefined, { token: null });
    const wrong = await c.call("GET", "/crm/v3/owners", undefined, { token: "nope" });
    for (const answer of [missing, wrong]) {
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ status: "error", category: "INVALID_AUTHENTICATION" });
      expect(String(at(answer.body, "message"))).toMatch(/^Authentication credentials not found/);
      expect(JSON.stringify(answer.body)).not.toContain("s3cret");
      expect(answer.headers.get("x-hubspot-ratelimit-remaining")).toBe("5");
    }
    const ok = await c.call("GET", "/crm/v3/owners", undefined, { token: "s3cret-token" });
    expect(ok.status).toBe(200);
    expect(c.fake.requests.map((r) => [r.status, r.authorized])).toEqual([
      [401, false],
      [401, false],
      [200, true],
    ]);
  });

  it("answers 404 for unknown endpoints, 405 for wrong methods, 400 for malformed JSON, 415 for non-JSON", async () => {
    const c = await startFake();
    const unknown = await c.call("GET", "/crm/v3/objects/widgets/1");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ status: "error", category: "OBJECT_NOT_FOUND" });
    expect((await c.call("GET", "/nope")).status).toBe(404);
    expect((await c.call("DELETE", "/crm/v3/objects/companies/batch/create")).status).toBe(405);
    const bad = await c.call("POST", "/crm/v3/objects/companies/batch/create", undefined, {
      raw: "{inputs:",
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ category: "VALIDATION_ERROR" });
    expect(String(at(bad.body, "message"))).toMatch(/^Invalid input JSON/);
    expect(c.fake.requests.at(-1)?.body).toBe("{inputs:");
    const res = await fetch(`${c.base}/crm/v3/objects/companies/batch/create`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ inputs: [{ properties: { name: "x" } }] }),
    });
    expect(res.status).toBe(415);
    expect(c.fake.companies.size).toBe(0);
  });

  it("records every request with method, path, query, body, status and time", async () => {
    const c = await startFake();
    const before = Date.now();
    await c.call("GET", "/crm/v3/owners?email=A%40x.com&limit=5");
    await c.call("POST", "/crm/v3/objects/companies/search", { limit: 1 });
    expect(c.fake.requests).toHaveLength(2);
    expect(c.fake.requests[0]).toMatchObject({
      method: "GET",
      path: "/crm/v3/owners",
      query: { email: "A@x.com", limit: "5" },
      body: undefined,
      status: 200,
      authorized: true,
    });
    expect(c.fake.requests[1]?.body).toEqual({ limit: 1 });
    expect(c.fake.requests[0]?.at).toBeGreaterThanOrEqual(before);
    expect(c.fake.callCount({ method: "post", path: /\/search$/ })).toBe(1);
    expect(c.fake.callCount({ status: 200 })).toBe(2);
  });
});

describe("properties and groups", () => {
  it("lists HubSpot's built-in properties and groups", async () => {
    const c = await startFake();
    const tasks = await c.call("GET", "/crm/v3/properties/tasks");
    expect(tasks.status).toBe(200);
    const priority = (at(tasks.body, "results") as unknown[]).find(
      (p) => at(p, "name") === "hs_task_priority",
    );
    expect(priority).toMatchObject({ type: "enumeration", fieldType: "select", hubspotDefined: true });
    expect((at(priority, "options") as unknown[]).map((o) => at(o, "value"))).toEqual([
      "LOW",
      "MEDIUM",
      "HIGH",
    ]);
    const groups = await c.call("GET", "/crm/v3/properties/companies/groups");
    expect(at(groups.body, "results", 0, "name")).toBe("companyinformation");
    const lifecycle = await c.call("GET", "/crm/v3/properties/companies/lifecyclestage");
    expect(JSON.stringify(at(lifecycle.body, "options"))).toContain('"customer"');
  });

  it("creates groups once (409 OBJECT_ALREADY_EXISTS after)", async () => {
    const c = await startFake();
    const group = { name: "pql_router", label: "PQL Router", displayOrder: 3 };
    const first = await c.call("POST", "/crm/v3/properties/companies/groups", group);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject(group);
    const again = await c.call("POST", "/crm/v3/properties/companies/groups", group);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ status: "error", category: "OBJECT_ALREADY_EXISTS" });
    expect(c.fake.propertyGroups.get("companies")?.has("pql_router")).toBe(true);
  });

  it("batch-creates properties: 201, then 207 when some exist, 409 when all exist", async () => {
    const c = await startFake();
    const score = {
      name: "pql_score",
      label: "PQL score",
      type: "number",
      fieldType: "number",
      groupName: "companyinformation",
    };
    const tier = {
      name: "pql_tier",
      label: "PQL tier",
      type: "enumeration",
      fieldType: "select",
      groupName: "companyinformation",
      options: [
        { label: "Hot", value: "hot", displayOrder: 0, hidden: false },
        { label: "Warm", value: "warm", displayOrder: 1, hidden: false },
      ],
    };
    const created = await c.call("POST", "/crm/v3/properties/companies/batch/create", {
      inputs: [score, UNIQUE_PROP],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: "COMPLETE",
      results: [{ name: "pql_score" }, { name: "pql_account_id" }],
    });
    expect(c.fake.properties.get("companies")?.get("pql_account_id")?.hasUniqueValue).toBe(true);

    const mixed = await c.call("POST", "/crm/v3/properties/companies/batch/create", {
      inputs: [score, tier],
    });
    expect(mixed.status).toBe(207);
    expect(mixed.body).toMatchObject({
      status: "COMPLETE",
      results: [{ name: "pql_tier" }],
      numErrors: 1,
      errors: [{ status: "error", category: "OBJECT_ALREADY_EXISTS", context: { name: ["pql_score"] } }],
    });
    const all = await c.call("POST", "/crm/v3/properties/companies/batch/create", { inputs: [score, tier] });
    expect(all.status).toBe(409);
    expect(all.body).toMatchObject({ status: "error", category: "OBJECT_ALREADY_EXISTS" });
    const single = await c.call("POST", "/crm/v3/properties/companies", score);
    expect(single.status).toBe(409);
  });

  it.each([
    [
      "an invalid (type, fieldType) pair",
      { fieldType: "textarea", type: "number" },
      /fieldType "textarea" is not valid/,
    ],
    ["an unknown type", { type: "text" }, /not a valid property type/],
    ["a group that does not exist", { groupName: "nope" }, /group "nope" does not exist/],
    ["an enumeration without options", { type: "enumeration", fieldType: "select" }, /non-empty options/],
    ["a name with capitals", { name: "PqlScore" }, /property name "PqlScore" is invalid/],
    ["a name over 100 chars", { name: `p${"x".repeat(100)}` }, /is invalid/],
    ["an empty label", { label: " " }, /label is required/],
    ["a unique textarea", { fieldType: "textarea", hasUniqueValue: true }, /unique values/],
    ["an unknown field", { labels: "x" }, /Unrecognized field "labels"/],
  ])("rejects a property with %s (400, nothing created)", async (_what, change, message) => {
    const c = await startFake();
    const input = {
      name: "pql_note",
      label: "Note",
      type: "string",
      fieldType: "text",
      groupName: "companyinformation",
      ...change,
    };
    const batch = await c.call("POST", "/crm/v3/properties/companies/batch/create", { inputs: [input] });
    expect(batch.status).toBe(400);
    expect(batch.body).toMatchObject({ status: "error", category: "VALIDATION_ERROR" });
    expect(String(at(batch.body, "message"))).toMatch(message);
    const single = await c.call("POST", "/crm/v3/properties/companies", input);
    expect(single.status).toBe(400);
    expect(c.fake.properties.get("companies")?.has("pql_note")).toBe(false);
  });

  it("patches labels and options but refuses a type change", async () => {
    const c = await startFake();
    await withUniqueProperty(c);
    const ok = await c.call("PATCH", "/crm/v3/properties/companies/pql_account_id", {
      label: "Account id",
      description: "d",
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      name: "pql_account_id",
      label: "Account id",
      description: "d",
      type: "string",
    });
    const retype = await c.call("PATCH", "/crm/v3/properties/companies/pql_account_id", { type: "number" });
    expect(retype.status).toBe(400);
    expect(c.fake.properties.get("companies")?.get("pql_account_id")?.type).toBe("string");
    expect((await c.call("PATCH", "/crm/v3/properties/companies/nope", { label: "x" })).status).toBe(404);
  });
});

describe("company writes", () => {
  it("batch-creates companies with HubSpot's answer shape", async () => {
    const c = await startFake();
    const res = await c.call("POST", "/crm/v3/objects/companies/batch/create", {
      inputs: [
        { properties: { name: "Acme", domain: "acme.com", numberofemployees: 120 } },
        { properties: { name: "Globex", lifecyclestage: "customer" }, associations: [] },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: "COMPLETE",
      startedAt: expect.any(String),
      completedAt: expect.any(String),
    });
    const [first, second] = ids(res.body);
    expect(first).toBe("10000000001");
    expect(second).toBe("10000000002");
    expect(at(res.body, "results", 0)).toMatchObject({
      id: first,
      properties: { name: "Acme", domain: "acme.com", numberofemployees: "120", hs_object_id: first },
      archived: false,
    });
    expect(at(res.body, "results", 0, "properties", "createdate")).toEqual(
      at(res.body, "results", 0, "createdAt"),
    );
    expect(c.fake.companies.get(first ?? "")?.properties).toEqual({
      name: "Acme",
      domain: "acme.com",
      numberofemployees: "120",
    });
  });

  it("rejects an unknown property name for the whole batch (400 PROPERTY_DOESNT_EXIST)", async () => {
    const c = await startFake();
    const res = await c.call("POST", "/crm/v3/objects/companies/batch/create", {
      inputs: [{ properties: { name: "Acme" } }, { properties: { name: "B", pql_scroe: "1" } }],
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      status: "error",
      category: "VALIDATION_ERROR",
      errors: [
        {
          message: 'Property "pql_scroe" does not exist',
          code: "PROPERTY_DOESNT_EXIST",
          context: { propertyName: ["pql_scroe"] },
        },
      ],
    });
    expect(String(at(res.body, "message"))).toMatch(/^Property values were not valid: /);
    expect(c.fake.companies.size).toBe(0);
  });

  it("fails only the records with invalid values (207), or the request when all are invalid (400)", async () => {
    const c = await startFake();
    const mixed = await c.call("POST", "/crm/v3/objects/companies/batch/create", {
      inputs: [
        { properties: { name: "Good", numberofemployees: "12" } },
        { properties: { name: "Bad", numberofemployees: "twelve" }, objectWriteTraceId: "bad-1" },
      ],
    });
    expect(mixed.status).toBe(207);
    expect(mixed.body).toMatchObject({
      status: "COMPLETE",
      numErrors: 1,
      results: [{ properties: { name: "Good" } }],
      errors: [
        {
          status: "error",
          category: "VALIDATION_ERROR",
          context: { objectWriteTraceId: ["bad-1"] },
          errors: [{ code: "INVALID_FLOAT", context: { propertyName: ["numberofemployees"] } }],
        },
      ],
    });
    const all = await c.call("POST", "/crm/v3/objects/companies/batch/create", {
      inputs: [{ properties: { lifecyclestage: "champion" } }, { properties: { hubspot_owner_id: "42" } }],
    });
    expect(all.status).toBe(400);
    expect(all.body).toMatchObject({
      status: "error",
      category: "VALIDATION_ERROR",
      errors: [{ code: "INVALID_OPTION" }, { code: "INVALID_OWNER_ID" }],
    });
    expect(c.fake.companies.size).toBe(1);
  });

  it("accepts owners that exist and normalizes datetimes", async () => {
    const c = await startFake();
    const owner = c.fake.addOwner("rep@example.com");
    const company = await c.call("POST", "/crm/v3/objects/companies/batch/create", {
      inputs: [{ properties: { name: "Acme", hubspot_owner_id: owner } }],
    });
    expect(company.status).toBe(201);
    const task = await c.call("POST", "/crm/v3/objects/tasks", {
      properties: { hs_timestamp: "1768467600000" },
    });
    expect(task.status).toBe(201);
    expect(at(task.body, "properties", "hs_timestamp")).toBe(DUE);
    const bad = await c.call("POST", "/crm/v3/objects/tasks", {
      properties: { hs_timestamp: "next tuesday" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ errors: [{ code: "INVALID_DATE" }] });
  });

  it.each([
    [
      "more than 100 inputs",
      { inputs: Array.from({ length: 101 }, () => ({ properties: { name: "x" } })) },
      /Batch input size limit of 100 exceeded/,
    ],
    ["no inputs", { inputs: [] }, /at least 1/],
    ["a missing inputs field", { input: [] }, /Unrecognized field "input"/],
    [
      "a non-string value",
      { inputs: [{ properties: { name: { first: "x" } } }] },
      /properties.name must be a string/,
    ],
    ["properties missing", { inputs: [{ property: { name: "x" } }] }, /Unrecognized field "property"/],
  ])("rejects a batch with %s (400)", async (_what, body, message) => {
    const c = await startFake();
    const res = await c.call("POST", "/crm/v3/objects/companies/batch/create", body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: "error", category: "VALIDATION_ERROR" });
    expect(String(at(res.body, "message"))).toMatch(message);
  });

  it("batch-updates: unknown ids are per-record OBJECT_NOT_FOUND (207), all unknown is 400, duplicates are 400", async () => {
    const c = await startFake();
    const id = c.fake.addCompany({ name: "Acme" });
    const mixed = await c.call("POST", "/crm/v3/objects/companies/batch/update", {
      inputs: [
        { id, properties: { name: "Acme Inc" } },
        { id: "999", properties: { name: "Ghost" } },
      ],
    });
    expect(mixed.status).toBe(207);
    expect(mixed.body).toMatchObject({
      results: [{ id, properties: { name: "Acme Inc" } }],
      errors: [{ status: "error", category: "OBJECT_NOT_FOUND", context: { ids: ["999"] } }],
    });
    expect(c.fake.companies.get(id)?.properties.name).toBe("Acme Inc");
    const none = await c.call("POST", "/crm/v3/objects/companies/batch/update", {
      inputs: [{ id: "998", properties: { name: "x" } }],
    });
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({
      status: "error",
      category: "OBJECT_NOT_FOUND",
      context: { ids: ["998"] },
    });
    const dup = await c.call("POST", "/crm/v3/objects/companies/batch/update", {
      inputs: [
        { id, properties: { name: "a" } },
        { id, properties: { name: "b" } },
      ],
    });
    expect(dup.status).toBe(400);
    expect(String(at(dup.body, "message"))).toMatch(/Duplicate IDs/);
    const ok = await c.call("POST", "/crm/v3/objects/companies/batch/update", {
      inputs: [{ id, properties: { domain: "acme.com" } }],
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      status: "COMPLETE",
      results: [{ id, properties: { domain: "acme.com" } }],
    });
  });
});

describe("unique properties and upsert", () => {
  it("upserts by a unique idProperty: creates (new: true), then updates (new: false)", async () => {
    const c = await startFake();
    await withUniqueProperty(c);
    const body = (name: string) => ({
      inputs: [{ id: "acct_1", idProperty: "pql_account_id", properties: { name } }],
    });
    const created = await c.call("POST", "/crm/v3/objects/companies/batch/upsert", body("Acme"));
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      status: "COMPLETE",
      results: [{ new: true, properties: { name: "Acme", pql_account_id: "acct_1" } }],
    });
    const updated = await c.call("POST", "/crm/v3/objects/companies/batch/upsert", body("Acme Inc"));
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ results: [{ new: false, id: ids(created.body)[0] }] });
    expect(c.fake.companies.size).toBe(1);
    expect([...c.fake.companies.values()][0]?.properties.name).toBe("Acme Inc");
  });

  it("refuses idProperty that is not unique, and upserts without idProperty", async () => {
    const c = await startFake();
    const notUnique = await c.call("POST", "/crm/v3/objects/companies/batch/upsert", {
      inputs: [{ id: "acme.com", idProperty: "domain", properties: { name: "Acme" } }],
    });
    expect(notUnique.status).toBe(400);
    expect(String(at(notUnique.body, "message"))).toMatch(/domain is not a unique property/);
    const none = await c.call("POST", "/crm/v3/objects/companies/batch/upsert", {
      inputs: [{ id: "1", properties: { name: "Acme" } }],
    });
    expect(none.status).toBe(400);
    const read = await c.call("POST", "/crm/v3/objects/companies/batch/read", {
      inputs: [{ id: "acme.com" }],
      idProperty: "domain",
    });
    expect(read.status).toBe(400);
  });

  it("answers CONFLICT when another record already has a unique value: 409 alone, 207 mixed", async () => {
    const c = await startFake();
    await withUniqueProperty(c);
    const a = c.fake.addCompany({ name: "A", pql_account_id: "acct_a" });
    const b = c.fake.addCompany({ name: "B" });
    const alone = await c.call("POST", "/crm/v3/objects/companies/batch/update", {
      inputs: [{ id: b, properties: { pql_account_id: "acct_a" } }],
    });
    expect(alone.status).toBe(409);
    expect(alone.body).toMatchObject({
      status: "error",
      category: "CONFLICT",
      context: { id: [a], ids: [b] },
    });
    expect(String(at(alone.body, "message"))).toMatch(/already has that value/);
    // updating a record to its own value is fine
    const self = await c.call("POST", "/crm/v3/objects/companies/batch/update", {
      inputs: [{ id: a, properties: { pql_account_id: "acct_a" } }],
    });
    expect(self.status).toBe(200);

    const mixed = await c.call("POST", "/crm/v3/objects/companies/batch/create", {
      inputs: [
        { properties: { name: "C", pql_account_id: "acct_a" } },
        { properties: { name: "D", pql_account_id: "acct_d" } },
        { properties: { name: "E", pql_account_id: "acct_d" } },
      ],
    });
    expect(mixed.status).toBe(207);
    expect(mixed.body).toMatchObject({
      results: [{ properties: { name: "D" } }],
      numErrors: 2,
      errors: [
        { category: "CONFLICT", context: { id: [a] } },
        { category: "CONFLICT", context: { id: [ids(mixed.body)[0]] } },
      ],
    });
    const single = await c.call("POST", "/crm/v3/objects/companies", {
      properties: { pql_account_id: "acct_a" },
    });
    expect(single.status).toBe(409);
  });

  it("updates by idProperty", async () => {
    const c = await startFake();
    await withUniqueProperty(c);
    const id = c.fake.addCompany({ name: "A", pql_account_id: "acct_a" });
    const res = await c.call("POST", "/crm/v3/objects/companies/batch/update", {
      inputs: [{ id: "acct_a", idProperty: "pql_account_id", properties: { name: "A2" } }],
    });
    expect(res.status).toBe(200);
    expect(ids(res.body)).toEqual([id]);
    expect(c.fake.companies.get(id)?.properties.name).toBe("A2");
  });
});

describe("company reads", () => {
  it("batch-reads by idProperty, reporting missing ids as one 207 OBJECT_NOT_FOUND error", async () => {
    const c = await startFake();
    await withUniqueProperty(c);
    const a = c.fake.addCompany({ name: "A", pql_account_id: "acct_a", industry: "HUMAN_RESOURCES" });
    const found = await c.call("POST", "/crm/v3/objects/companies/batch/read", {
      inputs: [{ id: "acct_a" }],
      idProperty: "pql_account_id",
      properties: ["industry", "domain", "not_a_property"],
      propertiesWithHistory: [],
    });
    expect(found.status).toBe(200);
    expect(at(found.body, "results", 0, "properties")).toEqual({
      industry: "HUMAN_RESOURCES",
      domain: null,
      createdate: expect.any(String),
      hs_lastmodifieddate: expect.any(String),
      hs_object_id: a,
    });
    const partial = await c.call("POST", "/crm/v3/objects/companies/batch/read", {
      inputs: [{ id: a }, { id: "404" }, { id: "405" }],
      properties: ["name"],
    });
    expect(partial.status).toBe(207);
    expect(partial.body).toMatchObject({
      results: [{ id: a }],
      numErrors: 1,
      errors: [{ status: "error", category: "OBJECT_NOT_FOUND", context: { ids: ["404", "405"] } }],
    });
  });

  it("gets one company by id or idProperty with HubSpot's default properties", async () => {
    const c = await startFake();
    await withUniqueProperty(c);
    const id = c.fake.addCompany({
      name: "A",
      domain: "a.com",
      industry: "HUMAN_RESOURCES",
      pql_account_id: "acct_a",
    });
    const plain = await c.call("GET", `/crm/v3/objects/companies/${id}`);
    expect(plain.status).toBe(200);
    expect(at(plain.body, "properties", "name")).toBe("A");
    expect(at(plain.body, "properties", "industry")).toBeUndefined();
    const chosen = await c.call(
      "GET",
      "/crm/v3/objects/companies/acct_a?idProperty=pql_account_id&properties=industry",
    );
    expect(chosen.status).toBe(200);
    expect(at(chosen.body, "id")).toBe(id);
    expect(at(chosen.body, "properties", "industry")).toBe("HUMAN_RESOURCES");
    const missing = await c.call("GET", "/crm/v3/objects/companies/123");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: "error", category: "OBJECT_NOT_FOUND" });
  });
});

describe("search", () => {
  async function seeded(options: FakeHubSpotOptions = {}): Promise<Client> {
    const c = await startFake(options);
    for (let i = 1; i <= 25; i++)
      c.fake.addCompany({
        name: `Co ${i}`,
        domain: `co${i}.com`,
        ...(i % 5 === 0 ? { industry: "HUMAN_RESOURCES" } : {}),
      });
    return c;
  }

  it("filters with EQ (case-insensitive for strings), IN and HAS_PROPERTY", async () => {
    const c = await seeded();
    const eq = await c.call("POST", "/crm/v3/objects/companies/search", {
      filterGroups: [{ filters: [{ propertyName: "domain", operator: "EQ", value: "CO7.com" }] }],
      properties: ["domain"],
    });
    expect(eq.status).toBe(200);
    expect(eq.body).toMatchObject({ total: 1, results: [{ properties: { domain: "co7.com" } }] });
    expect(at(eq.body, "paging")).toBeUndefined();
    const inList = await c.call("POST", "/crm/v3/objects/companies/search", {
      filterGroups: [
        { filters: [{ propertyName: "domain", operator: "IN", values: ["co3.com", "co4.com", "nope.com"] }] },
      ],
    });
    expect(at(inList.body, "total")).toBe(2);
    const has = await c.call("POST", "/crm/v3/objects/companies/search", {
      filterGroups: [
        { filters: [{ propertyName: "industry", operator: "HAS_PROPERTY" }] },
        { filters: [{ propertyName: "domain", operator: "EQ", value: "co1.com" }] },
      ],
      limit: 100,
    });
    expect(at(has.body, "total")).toBe(6);
    const upper = await c.call("POST", "/crm/v3/objects/companies/search", {
      filterGroups: [{ filters: [{ propertyName: "domain", operator: "IN", values: ["CO3.com"] }] }],
    });
    expect(upper.status).toBe(400);
  });

  it("pages by id ascending with total and paging.next.after", async () => {
    const c = await seeded();
    const first = await c.call("POST", "/crm/v3/objects/companies/search", { limit: 10 });
    expect(first.body).toMatchObject({ total: 25, paging: { next: { after: "10" } } });
    const firstIds = ids(first.body);
    expect(firstIds).toEqual([...firstIds].sort());
    const last = await c.call("POST", "/crm/v3/objects/companies/search", { limit: 10, after: "20" });
    expect(ids(last.body)).toHaveLength(5);
    expect(at(last.body, "paging")).toBeUndefined();
    const all = new Set<string>();
    let after: string | undefined;
    do {
      const page = await c.call("POST", "/crm/v3/objects/companies/search", {
        limit: 10,
        ...(after ? { after } : {}),
      });
      for (const id of ids(page.body)) all.add(id);
      after = at(page.body, "paging", "next", "after") as string | undefined;
      c.fake.resetBudget();
    } while (after);
    expect(all.size).toBe(25);
  });

  it.each([
    ["6 filter groups", { filterGroups: Array.from({ length: 6 }, () => ({ filters: [] })) }],
    [
      "7 filters in a group",
      {
        filterGroups: [
          { filters: Array.from({ length: 7 }, () => ({ propertyName: "name", operator: "HAS_PROPERTY" })) },
        ],
      },
    ],
    [
      "19 filters in total",
      {
        filterGroups: [5, 5, 5, 4].map((n) => ({
          filters: Array.from({ length: n }, () => ({ propertyName: "name", operator: "HAS_PROPERTY" })),
        })),
      },
    ],
    [
      "an unsupported operator",
      { filterGroups: [{ filters: [{ propertyName: "name", operator: "GT", value: "a" }] }] },
    ],
    [
      "an unknown operator",
      { filterGroups: [{ filters: [{ propertyName: "name", operator: "LIKE", value: "a" }] }] },
    ],
    ["EQ without value", { filterGroups: [{ filters: [{ propertyName: "name", operator: "EQ" }] }] }],
    [
      "IN without values",
      { filterGroups: [{ filters: [{ propertyName: "name", operator: "IN", value: "a" }] }] },
    ],
    [
      "IN with 101 values",
      {
        filterGroups: [
          {
            filters: [
              {
                propertyName: "name",
                operator: "IN",
                values: Array.from({ length: 101 }, (_, i) => `v${i}`),
              },
            ],
          },
        ],
      },
    ],
    [
      "an unknown property",
      { filterGroups: [{ filters: [{ propertyName: "nope", operator: "HAS_PROPERTY" }] }] },
    ],
    ["limit 201", { limit: 201 }],
    ["after + limit over 10,000", { after: "9950", limit: 100 }],
    ["a non-numeric after", { after: "abc" }],
  ])("rejects a search with %s (400)", async (_what, body) => {
    const c = await startFake();
    const res = await c.call("POST", "/crm/v3/objects/companies/search", body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: "error", category: "VALIDATION_ERROR" });
  });

  it("limits search to searchPerSecond (429 SECONDLY), separately from the 10-second budget", async () => {
    let now = 1_700_000_000_000;
    const c = await startFake({ searchPerSecond: 2, perTenSeconds: 100, now: () => now });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await c.call("POST", "/crm/v3/objects/companies/search", {})).status);
    expect(statuses).toEqual([200, 200, 429]);
    const limited = c.fake.requests.at(-1);
    expect(limited?.status).toBe(429);
    const res = await c.call("POST", "/crm/v3/objects/companies/search", {});
    expect(res.body).toMatchObject({
      status: "error",
      policyName: "SECONDLY",
      errorType: "RATE_LIMIT",
      category: "RATE_LIMITS",
    });
    expect((await c.call("GET", "/crm/v3/owners")).status).toBe(200);
    now += 1001;
    expect((await c.call("POST", "/crm/v3/objects/companies/search", {})).status).toBe(200);
  });

  it("hides just-created records from search during searchIndexLagMs", async () => {
    let now = 1_700_000_000_000;
    const c = await startFake({ searchIndexLagMs: 2000, now: () => now });
    c.fake.addCompany({ name: "Fresh", domain: "fresh.com" });
    const body = {
      filterGroups: [{ filters: [{ propertyName: "domain", operator: "EQ", value: "fresh.com" }] }],
    };
    expect(at((await c.call("POST", "/crm/v3/objects/companies/search", body)).body, "total")).toBe(0);
    now += 2500;
    expect(at((await c.call("POST", "/crm/v3/objects/companies/search", body)).body, "total")).toBe(1);
  });
});

describe("tasks and associations", () => {
  it("requires hs_timestamp and validates task options", async () => {
    const c = await startFake();
    const missing = await c.call("POST", "/crm/v3/objects/tasks/batch/create", {
      inputs: [{ properties: { hs_task_subject: "Call Acme" } }],
    });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({
      errors: [{ code: "REQUIRED_PROPERTY", context: { propertyName: ["hs_timestamp"] } }],
    });
    const badPriority = await c.call("POST", "/crm/v3/objects/tasks", {
      properties: { hs_timestamp: DUE, hs_task_priority: "URGENT" },
    });
    expect(badPriority.status).toBe(400);
    expect(badPriority.body).toMatchObject({ errors: [{ code: "INVALID_OPTION" }] });
    expect(c.fake.tasks.size).toBe(0);
  });

  it("creates tasks with associations to existing companies (192), deals (216), contacts (204)", async () => {
    const c = await startFake();
    const company = c.fake.addCompany({ name: "Acme" });
    const deal = c.fake.addDeal({ dealname: "Big" }, [company]);
    const contact = c.fake.addContact({ email: "a@acme.com" });
    const assoc = (id: string, typeId: number) => ({
      to: { id },
      types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: typeId }],
    });
    const res = await c.call("POST", "/crm/v3/objects/tasks/batch/create", {
      inputs: [
        {
          properties: {
            hs_timestamp: DUE,
            hs_task_subject: "Call",
            hs_task_priority: "HIGH",
            hs_task_status: "NOT_STARTED",
          },
          associations: [assoc(company, 192), assoc(deal, 216), assoc(contact, 204)],
        },
      ],
    });
    expect(res.status).toBe(201);
    const [taskId] = ids(res.body);
    expect(c.fake.tasks.get(taskId ?? "")?.associations).toEqual([
      {
        toObjectType: "companies",
        toId: company,
        associationTypeId: 192,
        associationCategory: "HUBSPOT_DEFINED",
      },
      { toObjectType: "deals", toId: deal, associationTypeId: 216, associationCategory: "HUBSPOT_DEFINED" },
      {
        toObjectType: "contacts",
        toId: contact,
        associationTypeId: 204,
        associationCategory: "HUBSPOT_DEFINED",
      },
    ]);
    const listed = await c.call("GET", `/crm/v4/objects/tasks/${taskId}/associations/companies`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({
      results: [
        {
          toObjectId: Number(company),
          associationTypes: [{ category: "HUBSPOT_DEFINED", typeId: 192, label: null }],
        },
      ],
    });
  });

  it("rejects invalid association types and missing targets (400 alone, 207 mixed)", async () => {
    const c = await startFake();
    const company = c.fake.addCompany({ name: "Acme" });
    const input = (id: string, typeId: number) => ({
      properties: { hs_timestamp: DUE },
      associations: [
        { to: { id }, types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: typeId }] },
      ],
    });
    const badType = await c.call("POST", "/crm/v3/objects/tasks/batch/create", {
      inputs: [input(company, 1)],
    });
    expect(badType.status).toBe(400);
    expect(String(at(badType.body, "message"))).toMatch(/invalid association type/);
    const missing = await c.call("POST", "/crm/v3/objects/tasks/batch/create", {
      inputs: [input("777", 192)],
    });
    expect(missing.status).toBe(400);
    const mixed = await c.call("POST", "/crm/v3/objects/tasks/batch/create", {
      inputs: [input(company, 192), input("777", 192)],
    });
    expect(mixed.status).toBe(207);
    expect(mixed.body).toMatchObject({
      numErrors: 1,
      errors: [{ category: "VALIDATION_ERROR", context: { toObjectId: ["777"] } }],
    });
    expect(c.fake.tasks.size).toBe(1);
    const shape = await c.call("POST", "/crm/v3/objects/tasks/batch/create", {
      inputs: [
        {
          properties: { hs_timestamp: DUE },
          associations: [{ to: { id: company }, types: [{ associationTypeId: 192 }] }],
        },
      ],
    });
    expect(shape.status).toBe(400);
  });

  it("associates tasks to companies through v4 batch/create, idempotently", async () => {
    const c = await startFake();
    const company = c.fake.addCompany({ name: "Acme" });
    const task = await c.call("POST", "/crm/v3/objects/tasks", { properties: { hs_timestamp: DUE } });
    const taskId = String(at(task.body, "id"));
    const body = {
      inputs: [
        {
          from: { id: taskId },
          to: { id: company },
          types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 192 }],
        },
      ],
    };
    for (let i = 0; i < 2; i++) {
      const res = await c.call("POST", "/crm/v4/associations/tasks/companies/batch/create", body);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        status: "COMPLETE",
        results: [
          {
            fromObjectTypeId: "0-27",
            fromObjectId: Number(taskId),
            toObjectTypeId: "0-2",
            toObjectId: Number(company),
          },
        ],
      });
    }
    expect(c.fake.tasks.get(taskId)?.associations).toHaveLength(1);
    const wrongType = await c.call("POST", "/crm/v4/associations/tasks/companies/batch/create", {
      inputs: [
        {
          from: { id: taskId },
          to: { id: company },
          types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 216 }],
        },
      ],
    });
    expect(wrongType.status).toBe(400);
    const ghost = await c.call("POST", "/crm/v4/associations/tasks/companies/batch/create", {
      inputs: [
        {
          from: { id: "1" },
          to: { id: company },
          types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 192 }],
        },
      ],
    });
    expect(ghost.status).toBe(400);
    expect(ghost.body).toMatchObject({ category: "OBJECT_NOT_FOUND" });
  });

  it("refuses a unique-value property on tasks, and reads and updates tasks by id", async () => {
    const c = await startFake();
    const property = {
      name: "pql_task_key",
      label: "Key",
      type: "string",
      fieldType: "text",
      groupName: "taskinformation",
    };
    const unique = await c.call("POST", "/crm/v3/properties/tasks/batch/create", {
      inputs: [{ ...property, hasUniqueValue: true }],
    });
    expect(unique.status).toBe(400);
    expect(JSON.stringify(unique.body)).toMatch(/contacts, companies, deals, tickets and custom objects/);
    expect(c.fake.properties.get("tasks")?.has("pql_task_key")).toBe(false);
    expect(
      (await c.call("POST", "/crm/v3/properties/tasks/batch/create", { inputs: [property] })).status,
    ).toBe(201);
    const created = await c.call("POST", "/crm/v3/objects/tasks/batch/create", {
      inputs: [{ properties: { hs_timestamp: DUE, hs_task_subject: "A", pql_task_key: "k1" } }],
    });
    expect(created.status).toBe(201);
    const byKey = await c.call("POST", "/crm/v3/objects/tasks/batch/read", {
      inputs: [{ id: "k1" }],
      idProperty: "pql_task_key",
      properties: ["hs_task_subject"],
    });
    expect(byKey.status).toBe(400);
    const read = await c.call("POST", "/crm/v3/objects/tasks/batch/read", {
      inputs: [{ id: ids(created.body)[0] }],
      properties: ["hs_task_subject", "pql_task_key"],
    });
    expect(read.body).toMatchObject({
      results: [
        { properties: { hs_task_subject: "A", pql_task_key: "k1", hs_createdate: expect.any(String) } },
      ],
    });
    const noTimestamp = await c.call("POST", "/crm/v3/objects/tasks/batch/create", {
      inputs: [{ properties: { hs_task_subject: "B" } }],
    });
    expect(noTimestamp.status).toBe(400);
    const update = await c.call("POST", "/crm/v3/objects/tasks/batch/update", {
      inputs: [{ id: ids(created.body)[0], properties: { hs_task_status: "COMPLETED" } }],
    });
    expect(update.status).toBe(200);
    const found = await c.call("POST", "/crm/v3/objects/tasks/search", {
      filterGroups: [{ filters: [{ propertyName: "hs_task_status", operator: "EQ", value: "COMPLETED" }] }],
    });
    expect(at(found.body, "total")).toBe(1);
  });
});

describe("owners and deals", () => {
  it("lists owners with an exact, case-insensitive email filter and paging", async () => {
    const c = await startFake();
    for (let i = 0; i < 5; i++) c.fake.addOwner(`rep${i}@example.com`, `Rep${i}`, "Smith");
    c.fake.owners.push({
      id: "77",
      email: "gone@example.com",
      firstName: "G",
      lastName: "One",
      userId: 7,
      archived: true,
    });
    const one = await c.call("GET", "/crm/v3/owners?email=REP3%40Example.com");
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      results: [
        {
          email: "rep3@example.com",
          firstName: "Rep3",
          lastName: "Smith",
          archived: false,
          createdAt: expect.any(String),
        },
      ],
    });
    expect(at(one.body, "results", 0, "userId")).toEqual(expect.any(Number));
    const page = await c.call("GET", "/crm/v3/owners?limit=2");
    expect(page.body).toMatchObject({ paging: { next: { after: "2" } } });
    expect(ids(page.body)).toHaveLength(2);
    const rest = await c.call("GET", "/crm/v3/owners?limit=2&after=4");
    expect(ids(rest.body)).toHaveLength(1);
    expect(at(rest.body, "paging")).toBeUndefined();
    expect((await c.call("GET", "/crm/v3/owners?limit=501")).status).toBe(400);
    expect(ids((await c.call("GET", "/crm/v3/owners?archived=true")).body)).toEqual(["77"]);
  });

  it("searches deals and reads deal -> company associations (no associations is a 207 error)", async () => {
    const c = await startFake();
    const a = c.fake.addCompany({ name: "A" });
    const b = c.fake.addCompany({ name: "B" });
    const won = c.fake.addDeal({ dealname: "Won", dealstage: "closedwon", amount: "1000" }, [a, b]);
    const open = c.fake.addDeal({ dealname: "Open", dealstage: "qualifiedtobuy" }, []);
    const found = await c.call("POST", "/crm/v3/objects/deals/search", {
      filterGroups: [{ filters: [{ propertyName: "dealstage", operator: "EQ", value: "closedwon" }] }],
      properties: ["dealname", "amount"],
    });
    expect(found.body).toMatchObject({
      total: 1,
      results: [{ id: won, properties: { dealname: "Won", amount: "1000" } }],
    });
    const assoc = await c.call("POST", "/crm/v4/associations/deals/companies/batch/read", {
      inputs: [{ id: won }, { id: open }],
    });
    expect(assoc.status).toBe(207);
    expect(assoc.body).toMatchObject({
      status: "COMPLETE",
      results: [
        {
          from: { id: won },
          to: [
            {
              toObjectId: Number(a),
              associationTypes: expect.arrayContaining([
                { category: "HUBSPOT_DEFINED", typeId: 5, label: "Primary" },
              ]),
            },
            { toObjectId: Number(b) },
          ],
        },
      ],
      errors: [{ category: "OBJECT_NOT_FOUND", context: { fromObjectId: [open] } }],
    });
    const allFound = await c.call("POST", "/crm/v4/associations/deals/companies/batch/read", {
      inputs: [{ id: won }],
    });
    expect(allFound.status).toBe(200);
  });
});

describe("rate limits", () => {
  it("answers 429 TEN_SECONDLY_ROLLING over the rolling budget; rejected requests do not count", async () => {
    let now = 1_700_000_000_000;
    const c = await startFake({ perTenSeconds: 3, now: () => now });
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await c.call("GET", "/crm/v3/owners");
      expect(res.status).toBe(200);
      remaining.push(res.headers.get("x-hubspot-ratelimit-remaining"));
      now += 1000;
    }
    expect(remaining).toEqual(["2", "1", "0"]);
    const limited = await c.call("GET", "/crm/v3/owners");
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({
      status: "error",
      message: "You have reached your ten_secondly_rolling limit.",
      errorType: "RATE_LIMIT",
      policyName: "TEN_SECONDLY_ROLLING",
      category: "RATE_LIMITS",
    });
    expect(limited.headers.get("x-hubspot-ratelimit-max")).toBe("3");
    expect(limited.headers.get("x-hubspot-ratelimit-interval-milliseconds")).toBe("10000");
    // the first request leaves the window 10 s after it was made: one slot frees up
    now += 7001;
    expect((await c.call("GET", "/crm/v3/owners")).status).toBe(200);
    expect((await c.call("GET", "/crm/v3/owners")).status).toBe(429);
    expect(c.fake.callCount({ status: 429 })).toBe(2);
  });

  it("answers 429 DAILY over the daily budget, with daily headers", async () => {
    const c = await startFake({ dailyBudget: 2 });
    const first = await c.call("GET", "/crm/v3/owners");
    expect(first.headers.get("x-hubspot-ratelimit-daily")).toBe("2");
    expect(first.headers.get("x-hubspot-ratelimit-daily-remaining")).toBe("1");
    await c.call("GET", "/crm/v3/owners");
    const over = await c.call("GET", "/crm/v3/owners");
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({
      policyName: "DAILY",
      message: "You have reached your daily limit.",
      category: "RATE_LIMITS",
    });
    expect(over.headers.get("x-hubspot-ratelimit-daily-remaining")).toBe("0");
  });
});

describe("faults", () => {
  const create = { inputs: [{ properties: { name: "Acme" } }] };

  it("injects 429s without applying the request", async () => {
    const c = await startFake({ faults: { rate429: 1 } });
    const res = await c.call("POST", "/crm/v3/objects/companies/batch/create", create);
    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({ policyName: "TEN_SECONDLY_ROLLING" });
    expect(c.fake.companies.size).toBe(0);
    expect(c.fake.requests[0]?.fault).toBe("rate429");
    expect(res.headers.get("x-hubspot-ratelimit-remaining")).toBe("100");
  });

  it("injects alternating 502/503 before applying, or after when after5xxApplied says so", async () => {
    const before = await startFake({ faults: { rate5xx: 1 } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await before.call("POST", "/crm/v3/objects/companies/batch/create", create);
      statuses.push(res.status);
      expect(res.body).toMatchObject({
        status: "error",
        message: "internal error",
        category: "INTERNAL_ERROR",
      });
    }
    expect(statuses).toEqual([502, 503, 502]);
    expect(before.fake.companies.size).toBe(0);

    const after = await startFake({ faults: { rate5xx: 1, after5xxApplied: 1 } });
    const res = await after.call("POST", "/crm/v3/objects/companies/batch/create", create);
    expect(res.status).toBe(502);
    expect(after.fake.companies.size).toBe(1);
    expect(after.fake.requests[0]?.fault).toBe("5xx-applied");
    expect(after.fake.callCount({ includeFaults: false })).toBe(0);
  });

  it("is deterministic for a seed", async () => {
    const run = async (seed: number) => {
      const c = await startFake({ faults: { rate429: 0.3, rate5xx: 0.3, seed }, perTenSeconds: 1000 });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await c.call("GET", "/crm/v3/owners")).status);
      return statuses;
    };
    const a = await run(42);
    expect(await run(42)).toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(2);
    expect(await run(7)).not.toEqual(a);
  });
});

describe("scripted answers", () => {
  it("answers the next matching request once, without applying it", async () => {
    const c = await startFake();
    const { hit } = c.fake.script(
      { method: "POST", path: "/crm/v3/objects/companies/batch/create" },
      { status: 500, headers: { "Retry-After": "1" } },
    );
    const scripted = await c.call("POST", "/crm/v3/objects/companies/batch/create", {
      inputs: [{ properties: { name: "A" } }],
    });
    await hit;
    expect(scripted.status).toBe(500);
    expect(scripted.headers.get("retry-after")).toBe("1");
    expect(scripted.body).toMatchObject({ category: "INTERNAL_ERROR" });
    expect(c.fake.companies.size).toBe(0);
    const normal = await c.call("POST", "/crm/v3/objects/companies/batch/create", {
      inputs: [{ properties: { name: "A" } }],
    });
    expect(normal.status).toBe(201);
  });

  it("applies the request and then answers the scripted status when apply is set", async () => {
    const c = await startFake();
    c.fake.script(
      { method: "POST", path: /\/batch\/create$/ },
      { status: 503, apply: true, body: { status: "error", message: "lost" } },
    );
    const res = await c.call("POST", "/crm/v3/objects/companies/batch/create", {
      inputs: [{ properties: { name: "A" } }],
    });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: "error", message: "lost" });
    expect(c.fake.companies.size).toBe(1);
    expect(c.fake.requests[0]?.fault).toBe("scripted");
  });

  it("holds an applied answer half-written until release", async () => {
    const c = await startFake();
    const held = c.fake.script(
      { method: "POST", path: "/crm/v3/objects/companies/batch/create" },
      { status: 201, hold: true },
    );
    const res = await fetch(`${c.base}/crm/v3/objects/companies/batch/create`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ inputs: [{ properties: { name: "A" } }] }),
    });
    await held.hit;
    expect(res.status).toBe(201);
    expect(c.fake.companies.size).toBe(1);
    const body = res.text();
    let settled = false;
    body.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false);
    held.release();
    await expect(body).rejects.toThrow();
  });

  it("delays answers by latencyMs", async () => {
    const c = await startFake({ latencyMs: 60 });
    const started = performance.now();
    await c.call("GET", "/crm/v3/owners");
    expect(performance.now() - started).toBeGreaterThanOrEqual(50);
  });
});
