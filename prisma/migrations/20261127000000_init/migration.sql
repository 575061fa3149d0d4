-- CreateTable
CREATE TABLE "im_user_data" (
    "app_id" INTEGER NOT NULL,
    "user_id" VARCHAR(50) NOT NULL,
    "nick_name" VARCHAR(100),
    "password_hash" VARCHAR(255),
    "photo" VARCHAR(255),
    "user_sex" INTEGER,
    "birth_day" VARCHAR(50),
    "location" VARCHAR(50),
    "self_signature" VARCHAR(255),
    "friend_allow_type" INTEGER NOT NULL DEFAULT 1,
    "forbidden_flag" INTEGER NOT NULL DEFAULT 0,
    "disable_add_friend" INTEGER NOT NULL DEFAULT 0,
    "silent_flag" INTEGER NOT NULL DEFAULT 0,
    "user_type" INTEGER NOT NULL DEFAULT 1,
    "del_flag" INTEGER NOT NULL DEFAULT 0,
    "extra" VARCHAR(1000),

    CONSTRAINT "im_user_data_pkey" PRIMARY KEY ("app_id","user_id")
);

-- CreateTable
CREATE TABLE "im_friendship" (
    "app_id" INTEGER NOT NULL,
    "from_id" VARCHAR(50) NOT NULL,
    "to_id" VARCHAR(50) NOT NULL,
    "remark" VARCHAR(50),
    "status" INTEGER NOT NULL DEFAULT 1,
    "black" INTEGER NOT NULL DEFAULT 1,
    "create_time" BIGINT,
    "friend_sequence" BIGINT NOT NULL DEFAULT 0,
    "black_sequence" BIGINT NOT NULL DEFAULT 0,
    "add_source" VARCHAR(20),
    "extra" VARCHAR(1000),

    CONSTRAINT "im_friendship_pkey" PRIMARY KEY ("app_id","from_id","to_id")
);

-- CreateTable
CREATE TABLE "im_friendship_request" (
    "id" BIGSERIAL NOT NULL,
    "app_id" INTEGER NOT NULL,
    "from_id" VARCHAR(50) NOT NULL,
    "to_id" VARCHAR(50) NOT NULL,
    "remark" VARCHAR(50),
    "read_status" INTEGER NOT NULL DEFAULT 0,
    "add_source" VARCHAR(20),
    "add_wording" VARCHAR(50),
    "approve_status" INTEGER NOT NULL DEFAULT 0,
    "create_time" BIGINT,
    "update_time" BIGINT,
    "sequence" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "im_friendship_request_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "im_friendship_group" (
    "group_id" BIGSERIAL NOT NULL,
    "app_id" INTEGER NOT NULL,
    "from_id" VARCHAR(50) NOT NULL,
    "group_name" VARCHAR(50) NOT NULL,
    "sequence" BIGINT NOT NULL DEFAULT 0,
    "create_time" BIGINT,
    "update_time" BIGINT,
    "del_flag" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "im_friendship_group_pkey" PRIMARY KEY ("group_id")
);

-- CreateTable
CREATE TABLE "im_friendship_group_member" (
    "group_id" BIGINT NOT NULL,
    "to_id" VARCHAR(50) NOT NULL,

    CONSTRAINT "im_friendship_group_member_pkey" PRIMARY KEY ("group_id","to_id")
);

-- CreateTable
CREATE TABLE "im_group" (
    "app_id" INTEGER NOT NULL,
    "group_id" VARCHAR(50) NOT NULL,
    "owner_id" VARCHAR(50) NOT NULL,
    "group_type" INTEGER NOT NULL DEFAULT 1,
    "group_name" VARCHAR(100),
    "mute" INTEGER NOT NULL DEFAULT 0,
    "apply_join_type" INTEGER NOT NULL DEFAULT 0,
    "photo" VARCHAR(300),
    "max_member_count" INTEGER,
    "introduction" VARCHAR(100),
    "notification" VARCHAR(1000),
    "status" INTEGER NOT NULL DEFAULT 1,
    "sequence" BIGINT NOT NULL DEFAULT 0,
    "create_time" BIGINT,
    "update_time" BIGINT,
    "extra" VARCHAR(1000),

    CONSTRAINT "im_group_pkey" PRIMARY KEY ("app_id","group_id")
);

-- CreateTable
CREATE TABLE "im_group_member" (
    "group_member_id" BIGSERIAL NOT NULL,
    "app_id" INTEGER NOT NULL,
    "group_id" VARCHAR(50) NOT NULL,
    "member_id" VARCHAR(50) NOT NULL,
    "role" INTEGER NOT NULL DEFAULT 0,
    "speak_date" BIGINT,
    "mute" INTEGER,
    "alias" VARCHAR(100),
    "join_time" BIGINT,
    "leave_time" BIGINT,
    "join_type" VARCHAR(50),
    "extra" VARCHAR(1000),
    "join_sequence" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "im_group_member_pkey" PRIMARY KEY ("group_member_id")
);

-- CreateTable
CREATE TABLE "im_conversation_set" (
    "app_id" INTEGER NOT NULL,
    "conversation_id" VARCHAR(255) NOT NULL,
    "conversation_type" INTEGER NOT NULL DEFAULT 0,
    "from_id" VARCHAR(50) NOT NULL,
    "to_id" VARCHAR(50) NOT NULL,
    "is_mute" INTEGER NOT NULL DEFAULT 0,
    "is_top" INTEGER NOT NULL DEFAULT 0,
    "sequence" BIGINT NOT NULL DEFAULT 0,
    "read_sequence" BIGINT NOT NULL DEFAULT 0,
    "del_flag" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "im_conversation_set_pkey" PRIMARY KEY ("app_id","conversation_id")
);

-- CreateTable
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
);

-- CreateTable
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
);

-- CreateTable
CREATE TABLE "im_group_message_history" (
    "app_id" INTEGER NOT NULL,
    "group_id" VARCHAR(50) NOT NULL,
    "message_key" BIGINT NOT NULL,
    "from_id" VARCHAR(50) NOT NULL,
    "sequence" BIGINT NOT NULL,
    "message_time" BIGINT NOT NULL,
    "create_time" BIGINT NOT NULL,

    CONSTRAINT "im_group_message_history_pkey" PRIMARY KEY ("app_id","group_id","message_key")
);

-- CreateTable
CREATE TABLE "im_sequence_high_water" (
    "app_id" INTEGER NOT NULL,
    "seq_key" VARCHAR(255) NOT NULL,
    "max_value" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "im_sequence_high_water_pkey" PRIMARY KEY ("app_id","seq_key")
);

-- CreateIndex
CREATE INDEX "im_friendship_app_id_from_id_friend_sequence_idx" ON "im_friendship"("app_id", "from_id", "friend_sequence");

-- CreateIndex
CREATE INDEX "im_friendship_request_app_id_to_id_sequence_idx" ON "im_friendship_request"("app_id", "to_id", "sequence");

-- CreateIndex
CREATE INDEX "im_friendship_request_app_id_from_id_to_id_idx" ON "im_friendship_request"("app_id", "from_id", "to_id");

-- CreateIndex
CREATE INDEX "im_friendship_group_app_id_from_id_sequence_idx" ON "im_friendship_group"("app_id", "from_id", "sequence");

-- CreateIndex
CREATE UNIQUE INDEX "im_friendship_group_app_id_from_id_group_name_key" ON "im_friendship_group"("app_id", "from_id", "group_name");

-- CreateIndex
CREATE INDEX "im_group_member_app_id_member_id_idx" ON "im_group_member"("app_id", "member_id");

-- CreateIndex
CREATE UNIQUE INDEX "im_group_member_app_id_group_id_member_id_key" ON "im_group_member"("app_id", "group_id", "member_id");

-- CreateIndex
CREATE INDEX "im_conversation_set_app_id_from_id_sequence_idx" ON "im_conversation_set"("app_id", "from_id", "sequence");

-- CreateIndex
CREATE UNIQUE INDEX "im_message_body_app_id_from_id_message_id_key" ON "im_message_body"("app_id", "from_id", "message_id");

-- CreateIndex
CREATE INDEX "im_message_history_app_id_owner_id_peer_id_sequence_idx" ON "im_message_history"("app_id", "owner_id", "peer_id", "sequence");

-- CreateIndex
CREATE INDEX "im_group_message_history_app_id_group_id_sequence_idx" ON "im_group_message_history"("app_id", "group_id", "sequence");

-- AddForeignKey
ALTER TABLE "im_friendship_group_member" ADD CONSTRAINT "im_friendship_group_member_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "im_friendship_group"("group_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "im_message_history" ADD CONSTRAINT "im_message_history_message_key_fkey" FOREIGN KEY ("message_key") REFERENCES "im_message_body"("message_key") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "im_group_message_history" ADD CONSTRAINT "im_group_message_history_message_key_fkey" FOREIGN KEY ("message_key") REFERENCES "im_message_body"("message_key") ON DELETE RESTRICT ON UPDATE CASCADE;
