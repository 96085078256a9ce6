-- DropIndex
DROP INDEX "sales_reps_email_key";

-- DropIndex
DROP INDEX "sales_reps_slack_user_id_key";

-- AlterTable
ALTER TABLE "sales_reps" ADD COLUMN     "role" TEXT NOT NULL DEFAULT 'rep';

-- AlterTable
ALTER TABLE "routing_decisions" ADD COLUMN     "assigned_at" TIMESTAMPTZ(3),
ADD COLUMN     "assignment_reason" TEXT,
ADD COLUMN     "escalations" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "hubspot_task_owner_id" TEXT,
ADD COLUMN     "hubspot_task_owner_rejected" TEXT,
ADD COLUMN     "rule" TEXT,
ADD COLUMN     "shadow" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "skipped" JSONB NOT NULL DEFAULT '[]',
ADD COLUMN     "sla_from" TIMESTAMPTZ(3),
ADD COLUMN     "slack_update_due" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "snoozed_until" TIMESTAMPTZ(3),
ADD COLUMN     "state_version" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "hubspot_companies" ADD COLUMN     "owner_id" TEXT,
ADD COLUMN     "owner_rejected" TEXT;

-- CreateTable
CREATE TABLE "routing_rotations" (
    "pool" TEXT NOT NULL,
    "rotation" JSONB NOT NULL DEFAULT '{}',
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "routing_rotations_pkey" PRIMARY KEY ("pool")
);

-- CreateTable
CREATE TABLE "routing_feedback" (
    "id" BIGSERIAL NOT NULL,
    "decision_id" BIGINT NOT NULL,
    "account_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "person_id" TEXT,
    "slack_user_id" TEXT,
    "reason" TEXT,
    "until" TIMESTAMPTZ(3),
    "details" JSONB NOT NULL DEFAULT '{}',
    "at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "routing_feedback_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "slack_posts" (
    "id" BIGSERIAL NOT NULL,
    "key" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "decision_id" BIGINT,
    "channel" TEXT NOT NULL,
    "channel_id" TEXT,
    "thread_ts" TEXT,
    "payload" JSONB NOT NULL DEFAULT '{}',
    "intent_at" TIMESTAMPTZ(3) NOT NULL,
    "ts" TEXT,
    "posted_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,

    CONSTRAINT "slack_posts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "slack_channels" (
    "name" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "slack_channels_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "routing_feedback_decision_id_idx" ON "routing_feedback"("decision_id");

-- CreateIndex
CREATE INDEX "routing_feedback_account_id_at_idx" ON "routing_feedback"("account_id", "at" DESC);

-- CreateIndex
CREATE INDEX "routing_feedback_kind_at_idx" ON "routing_feedback"("kind", "at");

-- CreateIndex
CREATE UNIQUE INDEX "slack_posts_key_key" ON "slack_posts"("key");

-- CreateIndex
CREATE INDEX "slack_posts_decision_id_idx" ON "slack_posts"("decision_id");

-- CreateIndex
CREATE INDEX "slack_posts_posted_at_idx" ON "slack_posts"("posted_at");

-- CreateIndex
CREATE INDEX "slack_posts_channel_id_ts_idx" ON "slack_posts"("channel_id", "ts");

-- AddForeignKey
ALTER TABLE "routing_feedback" ADD CONSTRAINT "routing_feedback_decision_id_fkey" FOREIGN KEY ("decision_id") REFERENCES "routing_decisions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "slack_posts" ADD CONSTRAINT "slack_posts_decision_id_fkey" FOREIGN KEY ("decision_id") REFERENCES "routing_decisions"("id") ON DELETE SET NULL ON UPDATE CASCADE;

