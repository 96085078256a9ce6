import {
  createdateName,
  DEFAULT_PROPERTIES,
  type ObjectType,
  type PropertyDefinition,
  type PropertyGroup,
  seedSchema,
} from "./schema.ts";

export type PropertyValues = Record<string, string | null>;

/** What every stored CRM record has. createdAt/updatedAt default to the epoch when a test seeds without them. */
export interface CrmRecord {
  id: string;
  properties: PropertyValues;
  createdAt?: string;
  updatedAt?: string;
}

export interface CompanyRecord extends CrmRecord {
  createdAt: string;
  updatedAt: string;
}

export type AssociationTarget = "companies" | "contacts" | "deals" | "tasks";

export interface TaskAssociation {
  toObjectType: AssociationTarget;
  toId: string;
  associationTypeId: number;
  associationCategory: string;
}

export interface TaskRecord extends CrmRecord {
  associations: TaskAssociation[];
}

/** companyIds[0] is the primary company (association type 5). */
export interface DealRecord extends CrmRecord {
  companyIds: string[];
}

export interface OwnerRecord {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  userId: number;
  archived: boolean;
}

const EPOCH = new Date(0).toISOString();
const FIRST_ID = 10_000_000_001;

/** The fake's CRM data: public so tests can seed and inspect it directly. */
export class CrmState {
  companies = new Map<string, CompanyRecord>();
  tasks = new Map<string, TaskRecord>();
  deals = new Map<string, DealRecord>();
  /** Only used to validate task -> contact associations (type 204). */
  contacts = new Map<string, CrmRecord>();
  owners: OwnerRecord[] = [];
  propertyGroups: Map<string, Map<string, PropertyGroup>>;
  properties: Map<string, Map<string, PropertyDefinition>>;
  private readonly counters = new Map<string, number>();
  protected readonly clock: () => number;

  constructor(clock: () => number) {
    this.clock = clock;
    const { groups, properties } = seedSchema();
    this.propertyGroups = groups;
    this.properties = properties;
  }

  protected nowIso(): string {
    return new Date(this.clock()).toISOString();
  }

  /** Next numeric id for a type, skipping ids tests seeded by hand. */
  nextId(kind: string, taken: (id: string) => boolean): string {
    let n = this.counters.get(kind) ?? FIRST_ID;
    while (taken(String(n))) n++;
    this.counters.set(kind, n + 1);
    return String(n);
  }

  records(type: ObjectType): Map<string, CrmRecord> {
    switch (type) {
      case "companies":
        return this.companies;
      case "tasks":
        return this.tasks;
      case "deals":
        return this.deals;
    }
  }

  definitions(type: ObjectType): Map<string, PropertyDefinition> {
    let defs = this.properties.get(type);
    if (!defs) {
      defs = new Map();
      this.properties.set(type, defs);
    }
    return defs;
  }

  groups(type: ObjectType): Map<string, PropertyGroup> {
    let groups = this.propertyGroups.get(type);
    if (!groups) {
      groups = new Map();
      this.propertyGroups.set(type, groups);
    }
    return groups;
  }

  /** value -> record id, per type and property, for lookups by value (kept by insert and noteWrite). */
  private readonly valueIndex = new Map<string, Map<string, string>>();

  /**
   * The record of `type` whose `name` holds `value`, in constant time: benchmarks hold tens of
   * thousands of records. An entry left stale by a later write is checked and ignored.
   */
  holderOf(type: ObjectType, name: string, value: string): CrmRecord | undefined {
    const key = `${type}\u0000${name}`;
    let index = this.valueIndex.get(key);
    if (!index) {
      index = new Map();
      for (const record of this.records(type).values()) {
        const v = record.properties[name];
        if (v !== null && v !== undefined) index.set(v, record.id);
      }
      this.valueIndex.set(key, index);
    }
    const id = index.get(value);
    const record = id === undefined ? undefined : this.records(type).get(id);
    return record && record.properties[name] === value ? record : undefined;
  }

  /** Keeps the value indexes current after `record`'s properties changed. */
  noteWrite(type: ObjectType, record: CrmRecord): void {
    for (const [key, index] of this.valueIndex) {
      const [indexType, name] = key.split("\u0000") as [string, string];
      if (indexType !== type) continue;
      const v = record.properties[name];
      if (v !== null && v !== undefined) index.set(v, record.id);
    }
  }

  /** Inserts a record of the right shape for its type (no validation). */
  insert(type: ObjectType, properties: PropertyValues): CrmRecord {
    const map = this.records(type);
    const id = this.nextId(type, (candidate) => map.has(candidate));
    const now = this.nowIso();
    const base = { id, properties, createdAt: now, updatedAt: now };
    switch (type) {
      case "companies":
        this.companies.set(id, base);
        break;
      case "tasks":
        this.tasks.set(id, { ...base, associations: [] });
        break;
      case "deals":
        this.deals.set(id, { ...base, companyIds: [] });
        break;
    }
    const record = map.get(id) ?? base;
    this.noteWrite(type, record);
    return record;
  }

  addCompany(properties: Record<string, string>): string {
    return this.insert("companies", { ...properties }).id;
  }

  addDeal(properties: Record<string, string>, companyIds: string[]): string {
    const id = this.insert("deals", { ...properties }).id;
    const deal = this.deals.get(id);
    if (deal) deal.companyIds = [...companyIds];
    return id;
  }

  addContact(properties: Record<string, string> = {}): string {
    const id = this.nextId("contacts", (candidate) => this.contacts.has(candidate));
    const now = this.nowIso();
    this.contacts.set(id, { id, properties: { ...properties }, createdAt: now, updatedAt: now });
    return id;
  }

  addOwner(email: string, firstName = "Test", lastName = "Owner"): string {
    const id = this.nextId("owners", (candidate) => this.owners.some((o) => o.id === candidate));
    this.owners.push({ id, email, firstName, lastName, userId: Number(id) % 100_000_000, archived: false });
    return id;
  }

  isActiveOwner(id: string): boolean {
    return this.owners.some((o) => o.id === id && !o.archived);
  }

  /** A property as HubSpot reports it, including the computed system ones. */
  readProp(type: ObjectType, record: CrmRecord, name: string): string | null {
    if (name === "hs_object_id") return record.id;
    if (name === createdateName(type)) return record.createdAt ?? EPOCH;
    if (name === "hs_lastmodifieddate") return record.updatedAt ?? record.createdAt ?? EPOCH;
    return record.properties[name] ?? null;
  }

  /** Finds a record by id, or by the value of `idProperty` (a unique property). */
  findBy(type: ObjectType, id: string, idProperty: string | undefined): CrmRecord | undefined {
    const map = this.records(type);
    if (idProperty === undefined || idProperty === "hs_object_id") return map.get(id);
    return this.holderOf(type, idProperty, id);
  }

  /**
   * SimplePublicObject. With `requested`, those properties (null when unset; unknown names left
   * out, as HubSpot does) plus the system ones; without, HubSpot's default set for the type;
   * with "all", every stored property (write answers).
   */
  render(type: ObjectType, record: CrmRecord, requested: readonly string[] | "all" | undefined) {
    const defs = this.definitions(type);
    const names =
      requested === "all"
        ? Object.keys(record.properties)
        : (requested ?? DEFAULT_PROPERTIES[type]).filter((n) => defs.has(n));
    const properties: PropertyValues = {};
    for (const name of names) properties[name] = this.readProp(type, record, name);
    for (const name of [createdateName(type), "hs_lastmodifieddate", "hs_object_id"])
      properties[name] = this.readProp(type, record, name);
    return {
      id: record.id,
      properties,
      createdAt: record.createdAt ?? EPOCH,
      updatedAt: record.updatedAt ?? record.createdAt ?? EPOCH,
      archived: false,
    };
  }
}
