-- AlterTable
ALTER TABLE "routing_decisions" ADD COLUMN     "hubspot_task_error" TEXT,
ADD COLUMN     "hubspot_task_sent_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "hubspot_companies" (
    "account_id" TEXT NOT NULL,
    "company_id" TEXT,
    "matched_by" TEXT,
    "searched_at" TIMESTAMPTZ(3),
    "written" JSONB NOT NULL DEFAULT '{}',
    "written_at" TIMESTAMPTZ(3),
    "rejected" JSONB,
    "error" TEXT,
    "error_at" TIMESTAMPTZ(3),

    CONSTRAINT "hubspot_companies_pkey" PRIMARY KEY ("account_id")
);

-- CreateTable
CREATE TABLE "hubspot_owners" (
    "email" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "hubspot_owners_pkey" PRIMARY KEY ("email")
);

-- CreateTable
CREATE TABLE "hubspot_usage" (
    "day" DATE NOT NULL,
    "calls" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "hubspot_usage_pkey" PRIMARY KEY ("day")
);

-- CreateIndex
CREATE UNIQUE INDEX "hubspot_companies_company_id_key" ON "hubspot_companies"("company_id");

-- CreateIndex
CREATE INDEX "routing_decisions_hubspot_task_id_idx" ON "routing_decisions"("hubspot_task_id");

-- AddForeignKey
ALTER TABLE "hubspot_companies" ADD CONSTRAINT "hubspot_companies_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

