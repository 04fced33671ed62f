-- CRM: a rep uses each tag name once, there is one global group per name (so
-- the 自定义 group can be created on demand without duplicates), and the rep's
-- "new activity" badge counts unseen access-log rows quickly.
CREATE UNIQUE INDEX tag_user_name ON tag (user_id, name);
CREATE UNIQUE INDEX tag_group_name ON tag (name) WHERE user_id IS NULL AND tag_parent_id IS NULL;
CREATE INDEX access_log_user_new ON access_log (user_id, is_new_msg);
