package api

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/accounts"
	"boxoffice/auth"
	"boxoffice/session"
	"boxoffice/tickets"
)

// ProblemTypePrefix starts the RFC 9457 "type" of every problem; the stable machine code
// follows it and is repeated in "code".
const ProblemTypePrefix = "urn:boxoffice:problem:"

// Problem is an RFC 9457 problem details object with boxoffice's extension members.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Code      string            `json:"code"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    map[string]string `json:"errors,omitempty"`
	// SeatIDs names the seats concerned (seats_unavailable: those taken; seat_group_split and
	// orphan_seat: the group, or the seats that would be stranded).
	SeatIDs []string `json:"seat_ids,omitempty"`
}

// Errors of the HTTP layer itself; domain packages own theirs.
var (
	errMissingToken     = errors.New("missing bearer token")
	errMalformedJSON    = errors.New("malformed JSON")
	errUnsupportedMedia = errors.New("unsupported media type")
	errBodyTooLarge     = errors.New("body too large")
	errNotFound         = errors.New("not found")
	errForbidden        = errors.New("forbidden")
	errValidation       = errors.New("invalid request")
)

// validationError lists invalid fields of a request (422).
type validationError struct{ fields map[string]string }

func (e *validationError) Error() string   { return fmt.Sprintf("invalid fields: %v", e.fields) }
func (e *validationError) Is(t error) bool { return t == errValidation }

// malformedError carries a client-safe description of why a body could not be parsed (400).
type malformedError struct{ detail string }

func (e *malformedError) Error() string   { return e.detail }
func (e *malformedError) Is(t error) bool { return t == errMalformedJSON }

// problemRow maps every error that errors.Is matches err to one problem. detail "" takes the
// error's own client-safe text (the error types that carry one say so).
type problemRow struct {
	err                 error
	status              int
	code, title, detail string
}

// problemTable is every error → problem mapping, in order; the first match wins. A test checks
// that each code appears in openapi.yaml and that each sentinel the domain packages export
// has a row.
var problemTable = []problemRow{
	{errMissingToken, 401, "missing_token", "Authentication required", "Send an access token as 'Authorization: Bearer <token>', or sign in with the cookie transport."},
	{auth.ErrTokenExpired, 401, "token_expired", "Access token expired", "Refresh the session to get a new access token."},
	{auth.ErrTokenInvalid, 401, "invalid_token", "Invalid access token", "The access token is not valid."},
	{session.ErrRevoked, 401, "session_revoked", "Session revoked", "This session was signed out or revoked; sign in again."},
	{session.ErrExpired, 401, "session_expired", "Session expired", "This session has ended; sign in again."},
	{accounts.ErrInvalidCredentials, 401, "invalid_credentials", "Invalid credentials", "The username or password is incorrect."},
	{auth.ErrPasswordMismatch, 401, "invalid_credentials", "Invalid credentials", "The username or password is incorrect."},
	{auth.ErrUserNotFound, 401, "invalid_credentials", "Invalid credentials", "The username or password is incorrect."},
	{session.ErrStaleCredential, 401, "invalid_credentials", "Invalid credentials", "The username or password is incorrect."},
	{auth.ErrRefreshInvalid, 401, "invalid_refresh_token", "Invalid refresh token", "The refresh token is not valid."},
	{session.ErrRefreshReused, 401, "refresh_token_reused", "Refresh token reused",
		"This refresh token was already used; the session has been revoked as a precaution. Sign in again."},
	{errCSRF, 403, "csrf_failed", "Cross-site request refused",
		"A cookie-authenticated change needs this site's origin and the session's X-CSRF-Token header."},
	{errForbidden, 403, "forbidden", "Forbidden", "You may not perform this action."},
	{errNotFound, 404, "not_found", "Not found", "No such resource."},
	{session.ErrNotFound, 404, "not_found", "Not found", "No such resource."},
	{auth.ErrUsernameTaken, 409, "username_taken", "Username taken", "That username is already registered."},
	{accounts.ErrPasswordChanged, 409, "conflict", "Concurrent update", "The password was changed by another request; sign in again."},
	{session.ErrCredentialChanged, 409, "conflict", "Concurrent update", "The password was changed by another request; sign in again."},
	{session.ErrConflict, 409, "conflict", "Concurrent update", "The session data changed concurrently; retry the request."},
	{session.ErrPrecondition, 412, "precondition_failed", "Precondition failed",
		"The session data changed since the ETag in If-Match; fetch it again and retry."},
	{session.ErrDataTooLarge, 413, "session_data_too_large", "Session data too large", ""},
	{errBodyTooLarge, 413, "payload_too_large", "Request body too large", "The request body exceeds the size limit."},
	{errUnsupportedMedia, 415, "unsupported_media_type", "Unsupported media type",
		"Send the body as JSON with a supported Content-Type (application/json; PATCH also accepts application/merge-patch+json) and no Content-Encoding."},
	{errValidation, 422, "validation_failed", "Invalid request", "One or more fields are invalid."},
	{accounts.ErrInvalidInput, 422, "validation_failed", "Invalid request", "One or more fields are invalid."},
	{session.ErrInvalidData, 422, "invalid_session_data", "Invalid session data", ""},
	{errBadIfMatch, 400, "invalid_if_match", "Malformed If-Match", `If-Match must be "*" or a list of entity tags such as "3".`},
	{errMalformedJSON, 400, "malformed_json", "Malformed JSON", ""},
	{accounts.ErrThrottled, 429, "too_many_attempts", "Too many attempts", "Too many failed attempts; wait before trying again."},
	{session.ErrRotatingTooFast, 429, "too_many_attempts", "Too many attempts", "This session's refresh token is being rotated too often; wait before refreshing again."},
	{session.ErrUnavailable, 503, "service_unavailable", "Service unavailable", "The service cannot check sessions right now; retry shortly."},
	{auth.ErrHashBusy, 503, "service_unavailable", "Service unavailable", "The service cannot check sessions right now; retry shortly."},

	// Tickets. A *tickets.RuleError's own Detail replaces the row's, and its seats (and a
	// *tickets.UnavailableError's) go to seat_ids.
	{tickets.ErrNotFound, 404, "not_found", "Not found", "No such resource."},
	{tickets.ErrInvalidInput, 422, "validation_failed", "Invalid request", "One or more fields are invalid."},
	{tickets.ErrSeatsUnavailable, 409, "seats_unavailable", "Seats unavailable",
		"Some of the seats are held or sold by someone else, or blocked; seat_ids lists them. Choose other seats."},
	{tickets.ErrNotEnoughSeats, 409, "not_enough_seats", "Not enough seats", "Not enough free seats match the request."},
	{tickets.ErrTooManySeats, 422, "too_many_seats", "Too many seats", "The hold asks for more seats than one hold may take."},
	{tickets.ErrSeatGroupSplit, 422, "seat_group_split", "Seat group split", "Seats sold together (seat_ids) must be held all together or not at all."},
	{tickets.ErrOrphanSeat, 422, "orphan_seat", "Orphan seat",
		"This choice would leave a single seat (seat_ids) empty on its own while another choice in the row would not."},
	{tickets.ErrScreeningStarted, 422, "screening_started", "Screening started", "The screening has started; it takes no holds."},
	{tickets.ErrScreeningCancelled, 409, "screening_cancelled", "Screening cancelled", "The screening was cancelled; it takes no holds."},
	{tickets.ErrHallBusy, 409, "hall_busy", "Hall busy", "Another screening uses the hall at that time (cleaning time included)."},
	{tickets.ErrHallInUse, 409, "hall_in_use", "Hall in use",
		"The hall's seat layout cannot change while screenings to come use it; only its name and cleaning time can."},
	{tickets.ErrConflict, 409, "conflict", "Conflict",
		"The id is taken by another record, or the hall belongs to another cinema."},
	{tickets.ErrUnavailable, 503, "service_unavailable", "Service unavailable", "The ticketing database cannot be consulted right now; retry shortly."},
}

// problemFor is the single place where errors become HTTP problems (problemTable). Anything it
// does not recognise is a 500 whose body says nothing about the cause.
func problemFor(err error) (p Problem, retryAfter time.Duration) {
	mk := func(status int, code, title, detail string) Problem {
		return Problem{Type: ProblemTypePrefix + code, Title: title, Status: status, Code: code, Detail: detail}
	}
	for _, r := range problemTable {
		if !errors.Is(err, r.err) {
			continue
		}
		p = mk(r.status, r.code, r.title, r.detail)
		if p.Detail == "" { // the error's own text, written for clients
			var (
				me  *malformedError
				dle *session.DataLimitError
			)
			switch {
			case errors.As(err, &me):
				p.Detail = me.detail
			case errors.As(err, &dle):
				p.Detail = dle.Error()
			default:
				p.Detail = err.Error() // session.ErrInvalidData and the errors it wraps
			}
		}
		var (
			ve  *validationError
			fe  accounts.FieldErrors
			tfe tickets.FieldErrors
			ue  *tickets.UnavailableError
			re  *tickets.RuleError
			te  *accounts.ThrottledError
			be  *session.RotationBusyError
		)
		switch {
		case errors.As(err, &ve):
			p.Errors = ve.fields
		case errors.As(err, &fe):
			p.Errors = fe
		case errors.As(err, &tfe):
			p.Errors = tfe
		case errors.As(err, &ue):
			p.SeatIDs = ue.SeatIDs
		case errors.As(err, &re):
			if re.Detail != "" {
				p.Detail = re.Detail
			}
			p.SeatIDs = re.SeatIDs
		case errors.As(err, &te):
			retryAfter = te.RetryAfter
		case errors.As(err, &be):
			retryAfter = be.RetryAfter
		case p.Status == 503:
			retryAfter = time.Second
		}
		return p, retryAfter
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return fiberProblem(fe.Code, mk), 0
	}
	return mk(500, "internal_error", "Internal server error", "An unexpected error occurred."), 0
}

// fiberProblem maps errors raised by Fiber and fasthttp before our handlers run. Their text is
// never used: it can contain internals.
func fiberProblem(status int, mk func(int, string, string, string) Problem) Problem {
	switch status {
	case 404:
		return mk(404, "not_found", "Not found", "No such resource.")
	case 405:
		return mk(405, "method_not_allowed", "Method not allowed", "This resource does not support the method.")
	case 408:
		return mk(408, "request_timeout", "Request timeout", "The request took too long to arrive.")
	case 413:
		return mk(413, "payload_too_large", "Request body too large", "The request body exceeds the size limit.")
	case 431:
		return mk(431, "headers_too_large", "Request headers too large", "The request headers exceed the size limit.")
	case 429:
		return mk(429, "rate_limited", "Too many requests", "Slow down and retry later.")
	}
	if status >= 400 && status < 500 {
		return mk(400, "bad_request", "Bad request", "The request could not be understood.")
	}
	return mk(500, "internal_error", "Internal server error", "An unexpected error occurred.")
}

// errorHandler writes every error as a problem. 5xx causes are logged with the request id and
// never sent to the client.
func errorHandler(log *slog.Logger, allow func(path string) []string) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		p, retry := problemFor(err)
		p.RequestID = requestID(c)
		if p.Status >= 500 {
			log.Error("request failed", "request_id", p.RequestID, "method", c.Method(),
				"path", c.Path(), "status", p.Status, "err", err)
		}
		if retry > 0 {
			secs := int((retry + time.Second - 1) / time.Second)
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		}
		if p.Status == 401 { // RFC 9110 requires a challenge on every 401
			c.Set(fiber.HeaderWWWAuthenticate, bearerChallenge(p.Code, c.Get(fiber.HeaderAuthorization) != ""))
		}
		if p.Status == 405 {
			c.Set(fiber.HeaderAllow, strings.Join(allow(c.Path()), ", "))
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Status(p.Status)
		return writeJSON(c, "application/problem+json", p)
	}
}

// bearerChallenge is the RFC 6750 WWW-Authenticate value for a 401 with the given code. The
// invalid_token error is named only when the request presented a bearer token.
func bearerChallenge(code string, presented bool) string {
	if !presented {
		return `Bearer realm="boxoffice"`
	}
	return fmt.Sprintf(`Bearer realm="boxoffice", error="invalid_token", error_description=%q`, code)
}
