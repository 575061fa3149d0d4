-- AlterTable
ALTER TABLE "im_group" ADD COLUMN     "private_chat" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "im_group_conversation_pending" (
    "app_id" INTEGER NOT NULL,
    "group_id" VARCHAR(50) NOT NULL,

    CONSTRAINT "im_group_conversation_pending_pkey" PRIMARY KEY ("app_id","group_id")
);
