-- CreateTable
CREATE TABLE "im_sequence_high_water" (
    "app_id" INTEGER NOT NULL,
    "seq_key" VARCHAR(255) NOT NULL,
    "max_value" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "im_sequence_high_water_pkey" PRIMARY KEY ("app_id","seq_key")
);
