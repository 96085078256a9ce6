-- AlterTable
ALTER TABLE "routing_decisions" ADD COLUMN     "hubspot_task_company_id" TEXT;

