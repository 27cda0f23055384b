package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"boxoffice/tickets"
)

// Idempotency key statuses, as stored.
const (
	keyInFlight  = "in_flight"
	keyCompleted = "completed"
)

// idemKey is a stored idempotency key.
type idemKey struct {
	userID, key string
	fingerprint []byte
	status      string
	leaseUntil  int64
	orderID     string
	reply       tickets.Reply // when completed
	createdAt   int64
}

const keySelect = `SELECT user_id, key, fingerprint, status, lease_until, order_id, reply_status,
	reply_content_type, reply_location, reply_body, created_at FROM idempotency_keys`

// idemKey reads a key; found is false when it was never used.
func (t *tx) idemKey(ctx context.Context, where string, args ...any) (k idemKey, found bool, err error) {
	err = t.QueryRowContext(ctx, keySelect+` WHERE `+where, args...).Scan(&k.userID, &k.key, &k.fingerprint,
		&k.status, &k.leaseUntil, &k.orderID, &k.reply.Status, &k.reply.ContentType, &k.reply.Location,
		&k.reply.Body, &k.createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return idemKey{}, false, nil
	}
	return k, err == nil, err
}

// remembered reports whether the key was first used less than tickets.KeyRetention ago (at
// exactly KeyRetention it still is); a key that is not counts as unused.
func (k idemKey) remembered(t *tx) bool {
	return k.createdAt >= t.ms()-tickets.KeyRetention.Milliseconds()
}

// putKey stores a key in flight for orderID with a lease from now, in place of a key that is
// no longer remembered.
func (t *tx) putKey(ctx context.Context, k tickets.IdempotencyKey, orderID string, lease time.Duration) error {
	if k.Fingerprint == nil {
		k.Fingerprint = []byte{}
	}
	res, err := t.ExecContext(ctx, `
		INSERT INTO idempotency_keys (user_id, key, fingerprint, status, lease_until, order_id, created_at)
		VALUES (:user, :key, :fingerprint, 'in_flight', :lease_until, :order, :now)
		ON CONFLICT (user_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = 'in_flight',
			lease_until = excluded.lease_until, order_id = excluded.order_id, reply_status = 0,
			reply_content_type = '', reply_location = '', reply_body = x'', created_at = excluded.created_at,
			completed_at = NULL
		WHERE idempotency_keys.created_at < :forgotten`,
		sql.Named("user", k.UserID), sql.Named("key", k.Key), sql.Named("fingerprint", k.Fingerprint),
		sql.Named("lease_until", t.ms()+lease.Milliseconds()), sql.Named("order", orderID),
		sql.Named("now", t.ms()), sql.Named("forgotten", t.ms()-tickets.KeyRetention.Milliseconds()))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("sqlite: idempotency key (%s, %s) is still remembered", k.UserID, k.Key)
	}
	return nil
}

// renewLease gives an in-flight key a new lease from now.
func (t *tx) renewLease(ctx context.Context, k idemKey, lease time.Duration) error {
	_, err := t.ExecContext(ctx, `UPDATE idempotency_keys SET lease_until = ? WHERE user_id = ? AND key = ?`,
		t.ms()+lease.Milliseconds(), k.userID, k.key)
	return err
}

// completeKey completes the in-flight key that began order o with render(o) and returns the
// key's stored reply: nil when o has no key (it was never given one, or the key was reused
// after tickets.KeyRetention), or when its key is in flight and render is nil.
func (t *tx) completeKey(ctx context.Context, o tickets.Order, render func(tickets.Order) tickets.Reply) (*tickets.Reply, error) {
	k, found, err := t.idemKey(ctx, `order_id = ?`, o.ID)
	if err != nil || !found {
		return nil, err
	}
	if k.status == keyCompleted {
		return &k.reply, nil
	}
	if render == nil {
		return nil, nil
	}
	reply := render(o)
	body := reply.Body
	if body == nil {
		body = []byte{}
	}
	_, err = t.ExecContext(ctx, `
		UPDATE idempotency_keys SET status = 'completed', reply_status = ?, reply_content_type = ?,
			reply_location = ?, reply_body = ?, completed_at = ?
		WHERE user_id = ? AND key = ?`,
		reply.Status, reply.ContentType, reply.Location, body, t.ms(), k.userID, k.key)
	if err != nil {
		return nil, err
	}
	return &reply, nil
}

// retryAfter is what is left of a lease that ends in ms milliseconds, rounded up to whole
// seconds, and at least a second.
func retryAfter(ms int64) time.Duration {
	return time.Duration(max(1, (ms+999)/1000)) * time.Second
}
