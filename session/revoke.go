package session

import (
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/redis/go-redis/v9"
)

// Revocation reasons recorded in revocation markers.
const (
	ReasonLogout    = "logout"
	ReasonLogoutAll = "logout_all"
	ReasonRevoked   = "revoked_by_user"
	ReasonAdmin     = "revoked_by_admin"
	ReasonReused    = "refresh_token_reused"
	ReasonPassword  = "password_changed"
)

// revokeBatch bounds the keys handed to one revoke_all script.
const revokeBatch = 100

// Revoke ends session targetSID of user uid. With callerSID set, the caller's session must be
// live (else ErrRevoked or ErrExpired) and targetSID may equal it (logout); with callerSID ""
// no caller is checked (administrators, whose own session is checked separately). The
// revocation takes effect on every instance at the next request. Revoking a session that is
// already revoked succeeds, as does a logout (callerSID == targetSID) of a session that is
// already gone; a target that is not one of the user's sessions gives ErrNotFound.
func (s *Store) Revoke(ctx context.Context, uid, callerSID, targetSID, reason string) error {
	csid := callerSID
	if csid == "" {
		csid = targetSID // keys must be valid and in the same slot even when unused
	}
	r, err := s.runDurable(ctx, "revoke", s.sc.revoke, []string{
		s.keys.session(uid, csid), s.keys.revoked(uid, csid),
		s.keys.session(uid, targetSID), s.keys.revoked(uid, targetSID), s.keys.index(uid),
	}, s.nowMS(), callerSID, targetSID, s.cfg.RevocationPad.Milliseconds(), reason)
	if err != nil {
		return err
	}
	switch r.status {
	case "ok":
		return nil
	case "not_found":
		return ErrNotFound
	}
	return r.gone()
}

// RevokeAll ends every live session of user uid, including the caller's, except those listed
// in keep, and returns how many it ended. callerSID behaves as in Revoke. Sessions created after
// the call started survive.
func (s *Store) RevokeAll(ctx context.Context, uid, callerSID, reason string, keep ...string) (int, error) {
	all, err := s.ids(ctx, uid, callerSID)
	if err != nil {
		return 0, err
	}
	ids := all[:0]
	for _, id := range all {
		if !slices.Contains(keep, id) {
			ids = append(ids, id)
		}
	}
	total := 0
	for start := 0; start < len(ids); start += revokeBatch {
		batch := ids[start:min(start+revokeBatch, len(ids))]
		keys := []string{s.keys.index(uid)}
		args := []any{s.nowMS(), s.cfg.RevocationPad.Milliseconds(), reason}
		for _, sid := range batch {
			keys = append(keys, s.keys.session(uid, sid), s.keys.revoked(uid, sid))
			args = append(args, sid)
		}
		r, err := s.runDurable(ctx, "revoke_all", s.sc.revokeAll, keys, args...)
		if err != nil {
			return total, err
		}
		n, _ := r.vals[0].(int64)
		total += int(n)
	}
	return total, nil
}

// List returns the live sessions of user uid, newest first. callerSID behaves as in Revoke.
// Two round trips: the index (with the caller check) and one pipelined read of the sessions.
func (s *Store) List(ctx context.Context, uid, callerSID string) ([]Session, error) {
	ids, err := s.ids(ctx, uid, callerSID)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sid := range ids {
			cmds[i] = p.HGetAll(ctx, s.keys.session(uid, sid))
		}
		return nil
	})
	if err != nil {
		return nil, classify("list", err)
	}
	now := s.cfg.Now()
	out := make([]Session, 0, len(ids))
	for i, c := range cmds {
		m := c.Val()
		if len(m) == 0 {
			continue // ended between the two round trips
		}
		sess, err := decodeSession(ids[i], m)
		if err != nil {
			return nil, err
		}
		if !now.Before(sess.IdleExpiresAt) || !now.Before(sess.AbsoluteExpiresAt) {
			continue
		}
		out = append(out, sess)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// ids checks the caller (when set) and returns the ids in the user's pruned index.
func (s *Store) ids(ctx context.Context, uid, callerSID string) ([]string, error) {
	csid := callerSID
	if csid == "" {
		csid = "-"
	}
	r, err := s.run(ctx, "list", s.sc.list,
		[]string{s.keys.session(uid, csid), s.keys.revoked(uid, csid), s.keys.index(uid)},
		s.nowMS(), s.cfg.IdleTTL.Milliseconds(), s.cfg.TouchInterval.Milliseconds(), callerSID)
	if err != nil {
		return nil, err
	}
	if r.status != "ok" {
		return nil, r.gone()
	}
	if len(r.vals) != 1 {
		return nil, errors.New("session: malformed list reply")
	}
	raw, _ := r.vals[0].([]any)
	ids := make([]string, 0, len(raw))
	for _, v := range raw {
		if id, ok := v.(string); ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
