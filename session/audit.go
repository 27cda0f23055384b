package session

import (
	"context"

	"boxoffice/audit"
)

// auditReasons name the revocation reasons in the audit vocabulary (audit.SessionRevoked).
var auditReasons = map[string]string{
	ReasonLogout:    "logout",
	ReasonLogoutAll: "logout_all",
	ReasonRevoked:   "revoked_by_user",
	ReasonAdmin:     "admin",
	ReasonReused:    "token_reuse",
	ReasonPassword:  "password_change",
	ReasonLimit:     "session_limit",
}

// revokedEvents records one audit.SessionRevoked event per session a script reported it
// revoked: the scripts know which revocations a call made (a retried or repeated call revokes
// nothing more, and reports nothing), so no revocation is recorded twice (one whose reply was
// lost to a retry is not recorded at all). The
// request's circumstances, and the administrator acting, come from ctx.
func (s *Store) revokedEvents(ctx context.Context, uid, reason string, sids ...string) {
	if s.cfg.Audit == nil {
		return
	}
	r, ok := auditReasons[reason]
	if !ok {
		r = "other"
	}
	for _, sid := range sids {
		s.cfg.Audit.Record(ctx, audit.Event{Type: audit.SessionRevoked, UserID: uid, SessionID: sid, Reason: r})
	}
}

// reuseEvents records a refresh token's reuse (audit.TokenReuse) and the revocation of its
// session it caused, once, when the rotate script reports it: also when the replicas did not
// acknowledge the revocation in time and the caller gets ErrUnavailable (the revocation stands
// on the primary, and the client's retry finds the session revoked, not reused).
func (s *Store) reuseEvents(ctx context.Context, uid, sid string) {
	if s.cfg.Audit == nil {
		return
	}
	s.cfg.Audit.Record(ctx, audit.Event{Type: audit.TokenReuse, Outcome: audit.Failure, UserID: uid, SessionID: sid})
	s.revokedEvents(ctx, uid, ReasonReused, sid)
}

// strings returns the i-th value as a list of strings (nil when absent or not such a list).
func (r reply) strings(i int) []string {
	if i >= len(r.vals) {
		return nil
	}
	arr, _ := r.vals[i].([]any)
	out := make([]string, 0, len(arr))
	for _, v := range arr {
		if str, ok := v.(string); ok {
			out = append(out, str)
		}
	}
	return out
}
