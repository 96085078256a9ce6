-- AlterTable
ALTER TABLE "users" ADD COLUMN     "persona_key" TEXT,
ADD COLUMN     "persona_version" TEXT;

-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "path" TEXT;

-- CreateIndex
CREATE INDEX "messages_received_at_idx" ON "messages"("received_at");


-- Backfill: the path of pages and screens stored before this migration.
UPDATE "messages" SET "path" = "payload"->'properties'->>'path' WHERE "type" IN ('page', 'screen');
