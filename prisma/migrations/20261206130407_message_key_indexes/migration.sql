-- CreateIndex
CREATE INDEX "im_group_message_history_message_key_idx" ON "im_group_message_history"("message_key");

-- CreateIndex
CREATE INDEX "im_message_history_message_key_idx" ON "im_message_history"("message_key");
