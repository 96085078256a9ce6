-- CreateTable
CREATE TABLE "pruned_message_times" (
    "account_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "first_at" TIMESTAMPTZ(3) NOT NULL,
    "last_at" TIMESTAMPTZ(3) NOT NULL,
    "messages" INTEGER NOT NULL,

    CONSTRAINT "pruned_message_times_pkey" PRIMARY KEY ("account_id","type","event","path")
);

-- AddForeignKey
ALTER TABLE "pruned_message_times" ADD CONSTRAINT "pruned_message_times_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

