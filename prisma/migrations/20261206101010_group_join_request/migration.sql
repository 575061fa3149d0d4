-- CreateTable
CREATE TABLE "im_group_join_request" (
    "app_id" INTEGER NOT NULL,
    "group_id" VARCHAR(50) NOT NULL,
    "applicant_id" VARCHAR(50) NOT NULL,
    "remark" VARCHAR(200),
    "status" INTEGER NOT NULL DEFAULT 0,
    "handled_by" VARCHAR(50),
    "create_time" BIGINT NOT NULL,
    "update_time" BIGINT NOT NULL,

    CONSTRAINT "im_group_join_request_pkey" PRIMARY KEY ("app_id","group_id","applicant_id")
);

-- CreateIndex
CREATE INDEX "im_group_join_request_app_id_group_id_status_create_time_idx" ON "im_group_join_request"("app_id", "group_id", "status", "create_time");
