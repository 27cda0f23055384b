// Package audit records security-relevant actions as events named after the OWASP Logging
// Vocabulary, with who did what from where, and never a secret.
package audit

import (
	"context"
	"time"
)

// Type names an event, after the OWASP Logging Vocabulary where it has a name.
type Type string

// The event types. Reasons are short, stable, lower_snake_case words (bounded: they become
// metric labels); they never contain user input.
const (
	// LoginSuccess: a password sign-in created a session (UserID, SessionID).
	LoginSuccess Type = "authn_login_success"
	// LoginFail: a sign-in was refused. Reason: unknown_user, bad_password, password_changed.
	// UserID is set when the account exists.
	LoginFail Type = "authn_login_fail"
	// LoginLock: a sign-in was refused by the attempt throttle before the password was
	// checked. Reason: the limit spent (account: this account from this network;
	// account_global: this account from all networks; device: a known device's own window
	// once account_global is spent; network: this network over all accounts). UserID is set
	// for the account limits when the account exists. Every refusal but the first of its
	// window is a Repeat.
	LoginLock Type = "authn_login_lock"
	// TokenReuse: a spent refresh token was presented again outside the grace period; the
	// session is revoked (UserID, SessionID).
	TokenReuse Type = "authn_token_reuse"
	// PasswordChange: a password change (Outcome success or failure; Reason on failure:
	// bad_password, password_changed).
	PasswordChange Type = "authn_password_change"
	// SessionRevoked: a session ended before its time. Reason: logout, logout_all,
	// revoked_by_user, admin, password_change, token_reuse, session_limit. SessionID is the
	// session ended; ActorID the administrator when Reason is admin.
	SessionRevoked Type = "session_revoked"
	// UserCreated: an account was registered (UserID).
	UserCreated Type = "user_created"
	// AuthzAdmin: an administrator used an administrative operation (ActorID is the
	// administrator, Target what was acted on, Reason the operation).
	AuthzAdmin Type = "authz_admin"
	// AuthzFail: a signed-in user was refused an administrative operation (UserID, Reason the
	// operation).
	AuthzFail Type = "authz_fail"
	// AuthzChange: a user's roles changed (UserID; Reason admin_granted or admin_revoked).
	// Today only the command line (boxoffice admin) changes roles: no ActorID, no request.
	AuthzChange Type = "authz_change"
	// OrderPaid, OrderRefunded, OrderCancelled: a ticket order's money moved (UserID the
	// buyer, Target the order id; Reason says why, e.g. buyer, screening_cancelled,
	// payment_failed, expired).
	OrderPaid      Type = "order_paid"
	OrderRefunded  Type = "order_refunded"
	OrderCancelled Type = "order_cancelled"
)

// types is every event type, in the order audit.go declares them.
var types = []Type{
	LoginSuccess, LoginFail, LoginLock, TokenReuse, PasswordChange, SessionRevoked, UserCreated,
	AuthzAdmin, AuthzFail, AuthzChange, OrderPaid, OrderRefunded, OrderCancelled,
}

// Types returns every event type, in a fixed order.
func Types() []Type { return append([]Type(nil), types...) }

// Known reports whether t is one of the event types (Types).
func (t Type) Known() bool {
	for _, k := range types {
		if t == k {
			return true
		}
	}
	return false
}

// Outcome is whether the action succeeded.
type Outcome string

// Outcomes.
const (
	Success Outcome = "success"
	Failure Outcome = "failure"
)

// Event is one security-relevant action. It holds identifiers and circumstances only: never a
// password, token, cookie or key.
type Event struct {
	ID        string    `json:"id,omitempty"` // unique (NewID); given once (Stamp), the same in every destination
	Type      Type      `json:"type"`
	At        time.Time `json:"at"`
	Outcome   Outcome   `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
	UserID    string    `json:"user_id,omitempty"`    // whose account the event is about
	SessionID string    `json:"session_id,omitempty"` // the session concerned
	ActorID   string    `json:"actor_id,omitempty"`   // who acted, when not UserID (an administrator)
	Target    string    `json:"target,omitempty"`     // what was acted on (an order, a session)
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	TraceID   string    `json:"trace_id,omitempty"`
	// Repeat marks a repeat, in the same throttle window, of an event already kept (an
	// authn_login_lock after the window's first): the stream and the metrics take it, a Keeper
	// does not keep it.
	Repeat bool `json:"repeat,omitempty"`
}

// Recorder takes events. Record never fails the action it describes: a recorder that cannot
// keep an event logs and counts the failure itself. Record fills the request's circumstances
// (IP, UserAgent, RequestID, TraceID) from ctx (WithRequest) where the event leaves them empty.
type Recorder interface {
	Record(ctx context.Context, e Event)
}

// Request is the circumstances of the HTTP request an action came from. ActorID is the
// administrator acting, on an administrative route (set once the role is checked), else "".
type Request struct {
	IP, UserAgent, RequestID, TraceID string
	ActorID                           string
}

type requestKey struct{}

// WithRequest returns ctx carrying r, for the events recorded under it.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestSource supplies a request's circumstances when an event first needs them, so that
// requests that record nothing do not pay for them (reading and cleaning headers). It is only
// asked while the request is being handled.
type RequestSource interface {
	AuditRequest() Request
}

// WithRequestSource returns ctx carrying src, for the events recorded under it.
func WithRequestSource(ctx context.Context, src RequestSource) context.Context {
	return context.WithValue(ctx, requestKey{}, src)
}

// RequestFrom returns the request ctx carries (WithRequest, WithRequestSource), or the zero
// Request.
func RequestFrom(ctx context.Context) Request {
	switch v := ctx.Value(requestKey{}).(type) {
	case Request:
		return v
	case RequestSource:
		return v.AuditRequest()
	}
	return Request{}
}

// Fill returns e with the request's circumstances from ctx where e leaves them empty (ActorID
// only when the actor is not the event's user), At from now when zero and Outcome Success
// when empty.
func Fill(ctx context.Context, e Event, now func() time.Time) Event {
	r := RequestFrom(ctx)
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&e.IP, r.IP)
	set(&e.UserAgent, r.UserAgent)
	set(&e.RequestID, r.RequestID)
	set(&e.TraceID, r.TraceID)
	if r.ActorID != e.UserID {
		set(&e.ActorID, r.ActorID)
	}
	if e.At.IsZero() {
		e.At = now()
	}
	if e.Outcome == "" {
		e.Outcome = Success
	}
	return e
}

// Recorders records each event with every recorder, in order.
type Recorders []Recorder

// Record implements Recorder.
func (rs Recorders) Record(ctx context.Context, e Event) {
	for _, r := range rs {
		r.Record(ctx, e)
	}
}

// Discard is a Recorder that keeps nothing.
type Discard struct{}

// Record implements Recorder.
func (Discard) Record(context.Context, Event) {}
