-- AlterTable
ALTER TABLE "users" DROP COLUMN "persona_key",
DROP COLUMN "persona_version";

-- CreateIndex
CREATE INDEX "users_updated_at_idx" ON "users"("updated_at");

