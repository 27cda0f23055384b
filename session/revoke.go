package session

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"boxoffice/auth"
)

// Revocation reasons recorded in revocation markers.
const (
	ReasonLogout    = "logout"
	ReasonLogoutAll = "logout_all"
	ReasonRevoked   = "revoked_by_user"
	ReasonAdmin     = "revoked_by_admin"
	ReasonReused    = "refresh_token_reused"
	ReasonPassword  = "password_changed"
	ReasonLimit     = "session_limit" // the least recently used session, revoked to respect the per-user cap
)

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
	if n, _ := r.int(0); r.status == "ok" && n == 1 { // with err too: the replicas lag, it is done
		s.revokedEvents(ctx, uid, reason, targetSID)
	}
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

// RevokeAll ends every live session of user uid, including the caller's, in one atomic step,
// and returns how many it ended. With callerSID set, the caller's session must be live (else
// ErrRevoked or ErrExpired) — unless it was itself the caller of an earlier RevokeAll with the
// same reason: such a retry (a lost answer, a revocation not yet acknowledged by a replica)
// succeeds, revoking nothing more (sessions created since are left alone; the sessions that the
// earlier call revoked cannot replay it). With callerSID "" no caller is checked
// (administrators).
func (s *Store) RevokeAll(ctx context.Context, uid, callerSID, reason string) (int, error) {
	csid := callerSID
	if csid == "" {
		csid = "-" // keys must be valid and in the user's slot even when unused
	}
	r, err := s.runDurable(ctx, "revoke_all", s.sc.revokeAll,
		[]string{s.keys.session(uid, csid), s.keys.revoked(uid, csid), s.keys.index(uid)},
		s.nowMS(), s.keys.tag(uid), s.cfg.RevocationPad.Milliseconds(), reason, callerSID)
	if r.status == "ok" { // with err too: the replicas lag, the revocations are done
		s.revokedEvents(ctx, uid, reason, r.strings(1)...)
	}
	if err != nil {
		return 0, err
	}
	if r.status != "ok" {
		return 0, r.gone()
	}
	n, _ := r.int(0)
	return int(n), nil
}

// List returns one page of the live sessions of user uid, newest first (created_at
// descending, then id ascending), and the cursor of the next page ("" after the last page).
// The sessions carry their metadata and data version but no data (Data is nil). callerSID
// behaves as in Revoke (ErrRevoked, ErrExpired). The cursor is a position in that order, not
// an offset: sessions created after the first page sort before it and sessions ended between
// pages leave no gap, so a walk lists every session that lives throughout it exactly once.
// A malformed page.Cursor gives ErrBadCursor; Redis trouble ErrUnavailable.
//
// Two round trips (one for an empty page): list.lua checks the caller, prunes the index,
// reads the creation time of each indexed session and picks the page; then one pipeline
// reads the page's metadata fields (HMGET, never the data). A session that ends between the
// two is left out, so such a page can be shorter than the limit. The cost grows with the
// number of sessions in the user's index (bounded by the per-user cap) and the page size,
// never with the size of session data.
func (s *Store) List(ctx context.Context, uid, callerSID string, page Page) ([]Session, string, error) {
	limit := page.Limit
	if limit <= 0 {
		limit = DefaultPageLimit
	}
	limit = min(limit, MaxPageLimit)
	cct, csid := "", ""
	if page.Cursor != "" {
		ct, sid, err := parseCursor(page.Cursor)
		if err != nil {
			return nil, "", err
		}
		cct, csid = strconv.FormatInt(ct, 10), sid
	}
	key := callerSID
	if key == "" {
		key = "-"
	}
	r, err := s.run(ctx, "list", s.sc.list,
		[]string{s.keys.session(uid, key), s.keys.revoked(uid, key), s.keys.index(uid)},
		s.nowMS(), s.cfg.IdleTTL.Milliseconds(), s.cfg.TouchInterval.Milliseconds(), callerSID,
		limit, cct, csid)
	if err != nil {
		return nil, "", err
	}
	if r.status != "ok" {
		return nil, "", r.gone()
	}
	if len(r.vals) != 2 {
		return nil, "", errors.New("session: malformed list reply")
	}
	flat, ok1 := r.vals[0].([]any)
	more, ok2 := r.vals[1].(int64)
	if !ok1 || !ok2 || len(flat)%2 != 0 {
		return nil, "", errors.New("session: malformed list reply")
	}
	n := len(flat) / 2
	ids, cts := make([]string, n), make([]int64, n)
	for i := range n {
		ids[i], ok1 = flat[2*i].(string)
		cts[i], ok2 = flat[2*i+1].(int64)
		if !ok1 || !ok2 || cts[i] < 0 {
			return nil, "", errors.New("session: malformed list reply")
		}
	}
	next := ""
	if more == 1 && n > 0 {
		next = formatCursor(cts[n-1], ids[n-1])
	}
	if n == 0 {
		return []Session{}, next, nil
	}
	cmds := make([]*redis.SliceCmd, n)
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sid := range ids {
			cmds[i] = p.HMGet(ctx, s.keys.session(uid, sid), listFields[:]...)
		}
		return nil
	}); err != nil {
		return nil, "", classify("list", err)
	}
	now := s.cfg.Now()
	out := make([]Session, 0, n)
	for i, c := range cmds {
		m := make(map[string]string, len(listFields))
		for j, v := range c.Val() {
			if str, ok := v.(string); ok {
				m[listFields[j]] = str
			}
		}
		if m["ct"] == "" {
			continue // ended since the script picked it
		}
		sess, err := decodeSession(uid, ids[i], m)
		if err != nil {
			return nil, "", err
		}
		if !now.Before(sess.IdleExpiresAt) || !now.Before(sess.AbsoluteExpiresAt) {
			continue
		}
		sess.Data = nil
		out = append(out, sess)
	}
	return out, next, nil
}

// A cursor is base64url (unpadded) of "<created_at ms>.<session id>": the position of the
// last session of a page. Parsing is strict: only the canonical encoding of a well-formed
// position is accepted.
const maxCursorLen = 64

func formatCursor(ct int64, sid string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(ct, 10) + "." + sid))
}

// ValidCursor reports whether c is well formed as a cursor List returns (List itself answers
// ErrBadCursor for one that is not), so that callers can report it with their other input
// errors.
func ValidCursor(c string) bool {
	_, _, err := parseCursor(c)
	return err == nil
}

// parseCursor returns the position a cursor names, or ErrBadCursor.
func parseCursor(c string) (int64, string, error) {
	if len(c) > maxCursorLen {
		return 0, "", ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return 0, "", ErrBadCursor
	}
	text, sid, ok := strings.Cut(string(raw), ".")
	ct, err := strconv.ParseInt(text, 10, 64)
	if !ok || err != nil || ct < 0 || strconv.FormatInt(ct, 10) != text || !auth.ValidID(sid) ||
		formatCursor(ct, sid) != c {
		return 0, "", ErrBadCursor
	}
	return ct, sid, nil
}

// Page sizes of List.
const (
	DefaultPageLimit = 50  // sessions per page when Page.Limit is 0
	MaxPageLimit     = 100 // the most sessions one page holds
)

// Page selects one page of List. The zero value is the first page of DefaultPageLimit sessions.
type Page struct {
	// Limit is the most sessions to return, 1 to MaxPageLimit; 0 (or less) means
	// DefaultPageLimit and more than MaxPageLimit means MaxPageLimit.
	Limit int
	// Cursor is "" for the first page, else the next cursor List returned with the previous
	// page. It is opaque to callers; a malformed one gives ErrBadCursor. A well-formed cursor
	// is a position, not a token: it never expires and needs no session to still exist there.
	Cursor string
}

// listFields are the hash fields List reads for each session of a page: the metadata, never
// the d:* data fields.
var listFields = [...]string{"ct", "ls", "ie", "ae", "dn", "ip", "ua", "v"}
