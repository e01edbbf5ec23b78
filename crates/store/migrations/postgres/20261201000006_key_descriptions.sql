-- Merchants manage their own API keys over the API (and the portal): a key may carry the
-- merchant's note on what it is for, and its last four characters, so that a list can tell
-- keys apart without the key. Keys issued before this have neither (the key is not kept).
ALTER TABLE api_keys ADD COLUMN description TEXT;
ALTER TABLE api_keys ADD COLUMN last4 TEXT;
