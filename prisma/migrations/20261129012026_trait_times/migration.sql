-- AlterTable
ALTER TABLE "accounts" ADD COLUMN     "trait_times" JSONB NOT NULL DEFAULT '{}';

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "trait_times" JSONB NOT NULL DEFAULT '{}';


-- Traits stored before this migration were merged by one time for the whole row: that time is
-- the best known for each of them.
UPDATE "accounts" SET "trait_times" = (
  SELECT jsonb_object_agg(k, to_char("traits_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
  FROM jsonb_object_keys("traits") AS k
) WHERE "traits_at" IS NOT NULL AND "traits" <> '{}'::jsonb;

UPDATE "users" SET "trait_times" = (
  SELECT jsonb_object_agg(k, to_char("traits_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
  FROM jsonb_object_keys("traits") AS k
) WHERE "traits_at" IS NOT NULL AND "traits" <> '{}'::jsonb;
