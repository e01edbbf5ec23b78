-- Deliveries are now written in the transaction that writes their event, so the separate
-- fan-out step and its marker column go. Events still waiting for it get their deliveries here.
INSERT INTO webhook_deliveries (event_seq, endpoint_id, session_id, sequence, status, attempts,
    next_attempt_at, created_at, updated_at)
SELECT ev.seq, p.id, ev.session_id, ev.sequence, 'PENDING', 0, ev.created_at, ev.created_at,
    ev.created_at
FROM events ev JOIN webhook_endpoints p ON p.merchant_id = ev.merchant_id
WHERE ev.fanout_pending = 1 AND p.enabled = 1
    AND (p.event_types = '' OR p.event_types LIKE '%,' || ev.type || ',%')
ON CONFLICT DO NOTHING;
DROP INDEX events_fanout;
ALTER TABLE events DROP COLUMN fanout_pending;
