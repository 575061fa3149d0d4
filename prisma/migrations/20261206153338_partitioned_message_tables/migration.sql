-- Partitioned message tables (issue 20 item 3; docs/message-tables.md). Written by hand: Prisma's
-- schema cannot declare partitioning, so schema.prisma describes the columns, keys and indexes and
-- this migration makes im_message_body, im_message_history and im_group_message_history
-- PARTITION BY RANGE (message_key). A messageKey is `(seconds since 2019-01-01 UTC) << 21 | ...`
-- (lib/ids/message-key.ts), so a range of keys is a range of time: one partition per UTC month,
-- named <table>_pYYYYMM, plus <table>_default for any key no month covers (an insert never fails
-- for want of a partition). The store creates the coming months ahead of time and retention drops
-- whole expired months (services/store/partitions). The existing rows are copied, in this one
-- transaction: on a large database this migration takes as long as copying the three tables.

-- 1. The sender's idempotency id gets its own table: a partitioned table can only enforce unique
--    keys that hold its partition key, and (app_id, from_id, message_id, message_key) would not
--    catch a resend under a new key. Filled from the bodies.
CREATE TABLE "im_message_id" (
    "app_id" INTEGER NOT NULL,
    "from_id" VARCHAR(50) NOT NULL,
    "message_id" VARCHAR(100) NOT NULL,
    "message_key" BIGINT NOT NULL,

    CONSTRAINT "im_message_id_pkey" PRIMARY KEY ("app_id","from_id","message_id")
);

INSERT INTO "im_message_id" ("app_id", "from_id", "message_id", "message_key")
SELECT "app_id", "from_id", "message_id", "message_key" FROM "im_message_body";

CREATE INDEX "im_message_id_message_key_idx" ON "im_message_id"("message_key");

-- 2. The old tables step aside under new names, without their keys, indexes and foreign keys
--    (whose names the partitioned tables take over).
ALTER TABLE "im_message_history" DROP CONSTRAINT "im_message_history_message_key_fkey";
ALTER TABLE "im_group_message_history" DROP CONSTRAINT "im_group_message_history_message_key_fkey";

ALTER TABLE "im_message_body" RENAME TO "im_message_body_unpartitioned";
ALTER TABLE "im_message_body_unpartitioned" DROP CONSTRAINT "im_message_body_pkey";
DROP INDEX "im_message_body_app_id_from_id_message_id_key";

ALTER TABLE "im_message_history" RENAME TO "im_message_history_unpartitioned";
ALTER TABLE "im_message_history_unpartitioned" DROP CONSTRAINT "im_message_history_pkey";
DROP INDEX "im_message_history_app_id_owner_id_peer_id_sequence_idx";
DROP INDEX "im_message_history_message_key_idx";

ALTER TABLE "im_group_message_history" RENAME TO "im_group_message_history_unpartitioned";
ALTER TABLE "im_group_message_history_unpartitioned" DROP CONSTRAINT "im_group_message_history_pkey";
DROP INDEX "im_group_message_history_app_id_group_id_sequence_idx";
DROP INDEX "im_group_message_history_message_key_idx";

-- 3. The partitioned tables, column for column as before.
CREATE TABLE "im_message_body" (
    "message_key" BIGINT NOT NULL,
    "app_id" INTEGER NOT NULL,
    "conversation_type" INTEGER NOT NULL,
    "from_id" VARCHAR(50) NOT NULL,
    "to_id" VARCHAR(50) NOT NULL,
    "message_id" VARCHAR(100) NOT NULL,
    "message_sequence" BIGINT NOT NULL,
    "message_body" VARCHAR(5000) NOT NULL,
    "security_key" VARCHAR(100) NOT NULL DEFAULT '',
    "message_time" BIGINT NOT NULL,
    "create_time" BIGINT NOT NULL,
    "extra" VARCHAR(1000),
    "del_flag" INTEGER NOT NULL DEFAULT 0,
    "recalled" BOOLEAN NOT NULL DEFAULT false,
    "recall_time" BIGINT,

    CONSTRAINT "im_message_body_pkey" PRIMARY KEY ("message_key")
) PARTITION BY RANGE ("message_key");

CREATE TABLE "im_message_history" (
    "app_id" INTEGER NOT NULL,
    "owner_id" VARCHAR(50) NOT NULL,
    "peer_id" VARCHAR(50) NOT NULL,
    "from_id" VARCHAR(50) NOT NULL,
    "to_id" VARCHAR(50) NOT NULL,
    "message_key" BIGINT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "message_time" BIGINT NOT NULL,
    "create_time" BIGINT NOT NULL,

    CONSTRAINT "im_message_history_pkey" PRIMARY KEY ("app_id","owner_id","message_key")
) PARTITION BY RANGE ("message_key");

CREATE TABLE "im_group_message_history" (
    "app_id" INTEGER NOT NULL,
    "group_id" VARCHAR(50) NOT NULL,
    "message_key" BIGINT NOT NULL,
    "from_id" VARCHAR(50) NOT NULL,
    "sequence" BIGINT NOT NULL,
    "message_time" BIGINT NOT NULL,
    "create_time" BIGINT NOT NULL,

    CONSTRAINT "im_group_message_history_pkey" PRIMARY KEY ("app_id","group_id","message_key")
) PARTITION BY RANGE ("message_key");

-- 4. The partitions: the DEFAULT ones, and one per UTC month from the oldest stored message's month
--    (this month when there is none) to three months past the newest one's (or this one): every
--    stored row lands in its month, and the store's upkeep finds the coming months made. The names
--    and bounds are the ones services/store/partitions/message-partitions.ts computes.
CREATE TABLE "im_message_body_default" PARTITION OF "im_message_body" DEFAULT;
CREATE TABLE "im_message_history_default" PARTITION OF "im_message_history" DEFAULT;
CREATE TABLE "im_group_message_history_default" PARTITION OF "im_group_message_history" DEFAULT;

DO $$
DECLARE
    -- lib/ids/message-key.ts MESSAGE_KEY_EPOCH_SECONDS: 2019-01-01T00:00:00Z
    key_epoch CONSTANT BIGINT := 1546300800;
    this_month CONSTANT TIMESTAMP := date_trunc('month', now() AT TIME ZONE 'UTC');
    oldest BIGINT;
    newest BIGINT;
    first_month TIMESTAMP;
    last_month TIMESTAMP;
    month TIMESTAMP;
    tbl TEXT;
BEGIN
    SELECT min("message_key"), max("message_key") INTO oldest, newest FROM "im_message_body_unpartitioned";
    -- least/greatest skip NULLs: no rows, or keys below 0 (they stay in DEFAULT), count as this month
    first_month := least(this_month,
        CASE WHEN oldest >= 0 THEN date_trunc('month', to_timestamp(key_epoch + (oldest >> 21)) AT TIME ZONE 'UTC') END);
    last_month := greatest(this_month,
        CASE WHEN newest >= 0 THEN date_trunc('month', to_timestamp(key_epoch + (newest >> 21)) AT TIME ZONE 'UTC') END)
        + INTERVAL '3 months';
    FOR month IN SELECT generate_series(first_month, last_month, INTERVAL '1 month') LOOP
        FOREACH tbl IN ARRAY ARRAY['im_message_body', 'im_message_history', 'im_group_message_history'] LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                tbl || '_p' || to_char(month, 'YYYYMM'), tbl,
                (extract(epoch FROM month)::BIGINT - key_epoch) << 21,
                (extract(epoch FROM month + INTERVAL '1 month')::BIGINT - key_epoch) << 21);
        END LOOP;
    END LOOP;
END
$$;

-- 5. The rows move over; the old tables go.
INSERT INTO "im_message_body" ("message_key", "app_id", "conversation_type", "from_id", "to_id", "message_id",
    "message_sequence", "message_body", "security_key", "message_time", "create_time", "extra", "del_flag",
    "recalled", "recall_time")
SELECT "message_key", "app_id", "conversation_type", "from_id", "to_id", "message_id", "message_sequence",
    "message_body", "security_key", "message_time", "create_time", "extra", "del_flag", "recalled", "recall_time"
FROM "im_message_body_unpartitioned";

INSERT INTO "im_message_history" ("app_id", "owner_id", "peer_id", "from_id", "to_id", "message_key", "sequence",
    "message_time", "create_time")
SELECT "app_id", "owner_id", "peer_id", "from_id", "to_id", "message_key", "sequence", "message_time", "create_time"
FROM "im_message_history_unpartitioned";

INSERT INTO "im_group_message_history" ("app_id", "group_id", "message_key", "from_id", "sequence", "message_time",
    "create_time")
SELECT "app_id", "group_id", "message_key", "from_id", "sequence", "message_time", "create_time"
FROM "im_group_message_history_unpartitioned";

DROP TABLE "im_message_history_unpartitioned";
DROP TABLE "im_group_message_history_unpartitioned";
DROP TABLE "im_message_body_unpartitioned";

-- 6. Indexes and foreign keys, built once over the copied rows (each partition gets its own, and
--    every partition made later inherits them).
CREATE INDEX "im_message_history_app_id_owner_id_peer_id_sequence_idx" ON "im_message_history"("app_id", "owner_id", "peer_id", "sequence");
CREATE INDEX "im_message_history_message_key_idx" ON "im_message_history"("message_key");
CREATE INDEX "im_group_message_history_app_id_group_id_sequence_idx" ON "im_group_message_history"("app_id", "group_id", "sequence");
CREATE INDEX "im_group_message_history_message_key_idx" ON "im_group_message_history"("message_key");

ALTER TABLE "im_message_history" ADD CONSTRAINT "im_message_history_message_key_fkey" FOREIGN KEY ("message_key") REFERENCES "im_message_body"("message_key") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "im_group_message_history" ADD CONSTRAINT "im_group_message_history_message_key_fkey" FOREIGN KEY ("message_key") REFERENCES "im_message_body"("message_key") ON DELETE RESTRICT ON UPDATE CASCADE;
