-- AlterTable
ALTER TABLE "cycle_runs" ADD COLUMN     "parent_id" BIGINT;

-- CreateIndex
CREATE INDEX "cycle_runs_parent_id_idx" ON "cycle_runs"("parent_id");

