-- CreateTable
CREATE TABLE "accounts" (
    "id" TEXT NOT NULL,
    "name" TEXT,
    "domain" TEXT,
    "employees" INTEGER,
    "industry" TEXT,
    "region" TEXT,
    "plan" TEXT,
    "seats" INTEGER,
    "mrr" DECIMAL(12,2),
    "tech_stack" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "traits" JSONB NOT NULL DEFAULT '{}',
    "traits_at" TIMESTAMPTZ(3),
    "hubspot_company_id" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "email" TEXT,
    "title" TEXT,
    "persona" TEXT,
    "account_id" TEXT,
    "account_at" TIMESTAMPTZ(3),
    "traits" JSONB NOT NULL DEFAULT '{}',
    "traits_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "messages" (
    "id" BIGSERIAL NOT NULL,
    "message_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "user_id" TEXT,
    "anonymous_id" TEXT,
    "account_id" TEXT,
    "event" TEXT,
    "timestamp" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "payload" JSONB NOT NULL,

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "identity_links" (
    "previous_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "identity_links_pkey" PRIMARY KEY ("previous_id")
);

-- CreateTable
CREATE TABLE "score_snapshots" (
    "id" BIGSERIAL NOT NULL,
    "account_id" TEXT NOT NULL,
    "as_of" TIMESTAMPTZ(3) NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,
    "tier" TEXT NOT NULL,
    "pqr" DECIMAL(14,2) NOT NULL,
    "icp" DOUBLE PRECISION,
    "components" JSONB NOT NULL,
    "reasons" JSONB NOT NULL,
    "features" JSONB NOT NULL,
    "config_version" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "cycle_run_id" BIGINT,

    CONSTRAINT "score_snapshots_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sales_reps" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "slack_user_id" TEXT,
    "hubspot_owner_id" TEXT,
    "pools" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "capacity" INTEGER NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sales_reps_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "routing_decisions" (
    "id" BIGSERIAL NOT NULL,
    "account_id" TEXT NOT NULL,
    "snapshot_id" BIGINT NOT NULL,
    "pool" TEXT NOT NULL,
    "rep_id" TEXT,
    "status" TEXT NOT NULL DEFAULT 'open',
    "reason" TEXT NOT NULL,
    "decided_at" TIMESTAMPTZ(3) NOT NULL,
    "slack_channel" TEXT,
    "slack_ts" TEXT,
    "hubspot_task_id" TEXT,
    "cycle_run_id" BIGINT,

    CONSTRAINT "routing_decisions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "claims" (
    "id" BIGSERIAL NOT NULL,
    "decision_id" BIGINT NOT NULL,
    "rep_id" TEXT NOT NULL,
    "slack_user_id" TEXT,
    "claimed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "claims_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outcomes" (
    "account_id" TEXT NOT NULL,
    "converted" BOOLEAN NOT NULL,
    "converted_at" TIMESTAMPTZ(3),
    "amount" DECIMAL(14,2),
    "source" TEXT NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outcomes_pkey" PRIMARY KEY ("account_id")
);

-- CreateTable
CREATE TABLE "cycle_runs" (
    "id" BIGSERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "ended_at" TIMESTAMPTZ(3),
    "status" TEXT NOT NULL DEFAULT 'running',
    "stats" JSONB NOT NULL DEFAULT '{}',
    "errors" JSONB NOT NULL DEFAULT '[]',

    CONSTRAINT "cycle_runs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "accounts_domain_idx" ON "accounts"("domain");

-- CreateIndex
CREATE INDEX "users_account_id_idx" ON "users"("account_id");

-- CreateIndex
CREATE INDEX "users_email_idx" ON "users"("email");

-- CreateIndex
CREATE UNIQUE INDEX "messages_message_id_key" ON "messages"("message_id");

-- CreateIndex
CREATE INDEX "messages_account_id_timestamp_idx" ON "messages"("account_id", "timestamp");

-- CreateIndex
CREATE INDEX "messages_user_id_timestamp_idx" ON "messages"("user_id", "timestamp");

-- CreateIndex
CREATE INDEX "messages_anonymous_id_idx" ON "messages"("anonymous_id");

-- CreateIndex
CREATE INDEX "messages_timestamp_idx" ON "messages"("timestamp");

-- CreateIndex
CREATE INDEX "identity_links_user_id_idx" ON "identity_links"("user_id");

-- CreateIndex
CREATE INDEX "score_snapshots_account_id_as_of_idx" ON "score_snapshots"("account_id", "as_of" DESC);

-- CreateIndex
CREATE INDEX "score_snapshots_as_of_idx" ON "score_snapshots"("as_of");

-- CreateIndex
CREATE UNIQUE INDEX "sales_reps_email_key" ON "sales_reps"("email");

-- CreateIndex
CREATE UNIQUE INDEX "sales_reps_slack_user_id_key" ON "sales_reps"("slack_user_id");

-- CreateIndex
CREATE INDEX "routing_decisions_account_id_decided_at_idx" ON "routing_decisions"("account_id", "decided_at" DESC);

-- CreateIndex
CREATE INDEX "routing_decisions_status_idx" ON "routing_decisions"("status");

-- CreateIndex
CREATE UNIQUE INDEX "claims_decision_id_key" ON "claims"("decision_id");

-- CreateIndex
CREATE INDEX "cycle_runs_started_at_idx" ON "cycle_runs"("started_at" DESC);

-- AddForeignKey
ALTER TABLE "users" ADD CONSTRAINT "users_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "score_snapshots" ADD CONSTRAINT "score_snapshots_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "score_snapshots" ADD CONSTRAINT "score_snapshots_cycle_run_id_fkey" FOREIGN KEY ("cycle_run_id") REFERENCES "cycle_runs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "routing_decisions" ADD CONSTRAINT "routing_decisions_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "routing_decisions" ADD CONSTRAINT "routing_decisions_snapshot_id_fkey" FOREIGN KEY ("snapshot_id") REFERENCES "score_snapshots"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "routing_decisions" ADD CONSTRAINT "routing_decisions_rep_id_fkey" FOREIGN KEY ("rep_id") REFERENCES "sales_reps"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "routing_decisions" ADD CONSTRAINT "routing_decisions_cycle_run_id_fkey" FOREIGN KEY ("cycle_run_id") REFERENCES "cycle_runs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "claims" ADD CONSTRAINT "claims_decision_id_fkey" FOREIGN KEY ("decision_id") REFERENCES "routing_decisions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "claims" ADD CONSTRAINT "claims_rep_id_fkey" FOREIGN KEY ("rep_id") REFERENCES "sales_reps"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outcomes" ADD CONSTRAINT "outcomes_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

