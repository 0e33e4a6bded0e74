-- Governance: the category a message was sent under (caps count messages by
-- category; auto-replies are "service").
ALTER TABLE messages ADD COLUMN category TEXT NOT NULL DEFAULT '';
