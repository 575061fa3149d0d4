-- AlterTable
ALTER TABLE "im_user_data" ADD COLUMN     "tokens_revoked_before" BIGINT;
