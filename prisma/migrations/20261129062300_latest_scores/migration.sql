-- CreateTable
CREATE TABLE "latest_scores" (
    "account_id" TEXT NOT NULL,
    "snapshot_id" BIGINT NOT NULL,
    "as_of" TIMESTAMPTZ(3) NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,
    "tier" TEXT NOT NULL,
    "pqr" DECIMAL(14,2) NOT NULL,
    "icp" DOUBLE PRECISION,
    "reasons" JSONB NOT NULL,
    "config_version" TEXT NOT NULL,

    CONSTRAINT "latest_scores_pkey" PRIMARY KEY ("account_id")
);

-- CreateIndex
CREATE INDEX "accounts_hubspot_company_id_idx" ON "accounts"("hubspot_company_id");

-- CreateIndex
CREATE INDEX "latest_scores_tier_idx" ON "latest_scores"("tier");

-- AddForeignKey
ALTER TABLE "latest_scores" ADD CONSTRAINT "latest_scores_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Kept by triggers (not in schema.prisma: Prisma does not model them). Statement-level, with
-- transition tables, so a COPY of 10,000 snapshots costs one set-based upsert, not 10,000.
CREATE FUNCTION "latest_scores_after_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO latest_scores AS c (account_id, snapshot_id, as_of, score, tier, pqr, icp, reasons, config_version)
  SELECT DISTINCT ON (n.account_id) n.account_id, n.id, n.as_of, n.score, n.tier, n.pqr, n.icp, n.reasons, n.config_version
  FROM inserted n ORDER BY n.account_id, n.as_of DESC, n.id DESC
  ON CONFLICT (account_id) DO UPDATE SET snapshot_id = excluded.snapshot_id, as_of = excluded.as_of,
    score = excluded.score, tier = excluded.tier, pqr = excluded.pqr, icp = excluded.icp,
    reasons = excluded.reasons, config_version = excluded.config_version
  WHERE (excluded.as_of, excluded.snapshot_id) > (c.as_of, c.snapshot_id);
  RETURN NULL;
END $$;

CREATE FUNCTION "latest_scores_after_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM latest_scores c USING deleted d WHERE c.snapshot_id = d.id;
  INSERT INTO latest_scores (account_id, snapshot_id, as_of, score, tier, pqr, icp, reasons, config_version)
  SELECT DISTINCT ON (s.account_id) s.account_id, s.id, s.as_of, s.score, s.tier, s.pqr, s.icp, s.reasons, s.config_version
  FROM score_snapshots s
  WHERE s.account_id IN (SELECT d.account_id FROM deleted d)
    AND NOT EXISTS (SELECT 1 FROM latest_scores c WHERE c.account_id = s.account_id)
  ORDER BY s.account_id, s.as_of DESC, s.id DESC;
  RETURN NULL;
END $$;

CREATE TRIGGER "score_snapshots_latest_insert" AFTER INSERT ON "score_snapshots"
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "latest_scores_after_insert"();
CREATE TRIGGER "score_snapshots_latest_delete" AFTER DELETE ON "score_snapshots"
  REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION "latest_scores_after_delete"();

-- Snapshots are never updated; refuse it rather than let the current scores drift.
CREATE FUNCTION "score_snapshots_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'score_snapshots are written once: insert a new snapshot instead of updating %', OLD.id;
END $$;
CREATE TRIGGER "score_snapshots_no_update" BEFORE UPDATE OF "account_id", "as_of", "score", "tier", "pqr", "icp", "reasons", "config_version"
  ON "score_snapshots" FOR EACH ROW EXECUTE FUNCTION "score_snapshots_immutable"();

-- The history so far.
INSERT INTO latest_scores (account_id, snapshot_id, as_of, score, tier, pqr, icp, reasons, config_version)
SELECT DISTINCT ON (s.account_id) s.account_id, s.id, s.as_of, s.score, s.tier, s.pqr, s.icp, s.reasons, s.config_version
FROM score_snapshots s ORDER BY s.account_id, s.as_of DESC, s.id DESC;
