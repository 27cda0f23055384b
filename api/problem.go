package api

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"boxoffice/accounts"
	"boxoffice/audit"
	"boxoffice/auth"
	"boxoffice/session"
	"boxoffice/tickets"
	"boxoffice/tickets/live"
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
	// OrderID names the order concerned (payment_declined: the declined order; order_exists:
	// the hold's order).
	OrderID string `json:"order_id,omitempty"`
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

// problemRow maps errors to one problem: every error that errors.Is matches to err, or, when err
// is an errorClass, every error of the class. detail "" takes the error's own client-safe text
// (the error types that carry one say so); class rows always have their own.
type problemRow struct {
	err                 error
	status              int
	code, title, detail string
}

// errorClass is a problemTable key that stands for a class of errors rather than one sentinel.
// A class row's problem is the row alone: nothing (detail, fields, seats, Retry-After) is taken
// from the error, whose text can hold internals.
type errorClass interface {
	error
	includes(err error) bool
}

// fiberStatus is the class of the errors Fiber and fasthttp raise with a status in [lo, hi]
// (*fiber.Error): the router's 404 and 405, the limiter's 429, a body or headers too large, a
// read timeout, a request fasthttp could not parse. Fiber makes a new *fiber.Error for some
// of them, so they are matched by status, not identity.
type fiberStatus struct{ lo, hi int }

func (f fiberStatus) Error() string { return fmt.Sprintf("fiber error %d-%d", f.lo, f.hi) }

func (f fiberStatus) includes(err error) bool {
	var fe *fiber.Error
	return errors.As(err, &fe) && fe.Code >= f.lo && fe.Code <= f.hi
}

// anyError is the class of every error: the last row, so that an error no other row knows is a
// 500 that says nothing about its cause.
type anyError struct{}

func (anyError) Error() string       { return "any other error" }
func (anyError) includes(error) bool { return true }

// problemTable is every problem the API sends, and the errors that cause it, in order; the
// first match wins, and the last row matches every error. A test checks that each code
// appears in openapi.yaml with the row's status, that each sentinel the domain packages export
// has a row, and that no other file builds a problem.
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
	{errBadLastEventID, 400, "invalid_last_event_id", "Malformed Last-Event-ID",
		"Last-Event-ID (or the after parameter) must be a version this API sent: a non-negative integer without sign or leading zeros."},
	{errMissingKey, 400, "idempotency_key_missing", "Idempotency-Key missing",
		`Send an Idempotency-Key header with a key unique to this purchase, such as "8e03978e-40d5-43e8-bc93-6894a57f9324", and the same key on every retry.`},
	{errBadKey, 400, "invalid_idempotency_key", "Malformed Idempotency-Key",
		"The Idempotency-Key must be one key of 1 to 255 printable ASCII characters: a quoted string such as \"abc\" (escaping \" and \\ with a backslash), or a bare key such as abc of letters, digits and !#$%&'*+-.^_`|~:/."},
	{accounts.ErrThrottled, 429, "too_many_attempts", "Too many attempts", "Too many failed attempts; wait before trying again."},
	{session.ErrRotatingTooFast, 429, "too_many_attempts", "Too many attempts", "This session's refresh token is being rotated too often; wait before refreshing again."},
	{session.ErrUnavailable, 503, "service_unavailable", "Service unavailable", "The service cannot check sessions right now; retry shortly."},
	{auth.ErrHashBusy, 503, "service_unavailable", "Service unavailable", "The service cannot check sessions right now; retry shortly."},
	{audit.ErrUnavailable, 503, "service_unavailable", "Service unavailable", "The activity log cannot be read right now; retry shortly."},

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
	{tickets.ErrProviderUnavailable, 503, "service_unavailable", "Service unavailable",
		"The payment provider cannot be reached right now; retry shortly with the same Idempotency-Key (nothing is charged twice)."},
	{live.ErrTooManyStreams, 503, "service_unavailable", "Service unavailable",
		"This instance serves as many live seat maps as it may; retry shortly (another instance may take it)."},
	{live.ErrClosed, 503, "service_unavailable", "Service unavailable", "This instance is shutting down; retry shortly."},
	{tickets.ErrUnavailable, 503, "service_unavailable", "Service unavailable", "The ticketing database cannot be consulted right now; retry shortly."},

	// Orders. A *tickets.OrderExistsError's order (and a declined payment's) goes to order_id;
	// a *tickets.InFlightError's wait to Retry-After.
	{errPaymentDeclined, 402, "payment_declined", "Payment declined",
		"The payment was declined. The hold is kept until it expires: pay again with other payment details and a new Idempotency-Key."},
	{tickets.ErrHoldExpired, 410, "hold_expired", "Hold expired",
		"The hold is no longer active (it expired, or was released, replaced, revoked or cancelled); hold the seats again."},
	{tickets.ErrOrderExists, 409, "order_exists", "Order exists",
		"The hold already has an order (order_id), made with another Idempotency-Key."},
	{tickets.ErrIdempotencyKeyReused, 422, "idempotency_key_reused", "Idempotency-Key reused",
		"This Idempotency-Key was used for a different request; use a new key for a new request."},
	{tickets.ErrIdempotencyInFlight, 409, "idempotency_key_in_flight", "Request in progress",
		"The first request with this Idempotency-Key has not finished; retry after Retry-After seconds."},
	{tickets.ErrCancellationClosed, 409, "cancellation_closed", "Cancellation closed",
		"The screening starts too soon (or has started) for the order to be cancelled."},
	{tickets.ErrOrderNotCancellable, 409, "order_not_cancellable", "Order not cancellable", "Only a confirmed order can be cancelled."},
	{tickets.ErrInvalidSignature, 400, "invalid_signature", "Invalid signature",
		"The webhook's signature header is missing, malformed, too old, or does not match the body."},

	// Raised by Fiber and fasthttp (some before our handlers run), and last the catch-all.
	{fiberStatus{404, 404}, 404, "not_found", "Not found", "No such resource."},
	{fiberStatus{405, 405}, 405, "method_not_allowed", "Method not allowed", "This resource does not support the method."},
	{fiberStatus{408, 408}, 408, "request_timeout", "Request timeout", "The request took too long to arrive."},
	{fiberStatus{413, 413}, 413, "payload_too_large", "Request body too large", "The request body exceeds the size limit."},
	{fiberStatus{431, 431}, 431, "headers_too_large", "Request headers too large", "The request headers exceed the size limit."},
	{fiberStatus{429, 429}, 429, "rate_limited", "Too many requests", "Slow down and retry later."},
	{fiberStatus{400, 499}, 400, "bad_request", "Bad request", "The request could not be understood."},
	{anyError{}, 500, "internal_error", "Internal server error", "An unexpected error occurred."},
}

// problemFor is the single place where errors become HTTP problems (problemTable), with the
// Retry-After the problem asks for (0: none). Anything it does not recognise is a 500 whose
// body says nothing about the cause.
func problemFor(err error) (p Problem, retryAfter time.Duration) {
	for _, r := range problemTable {
		if class, ok := r.err.(errorClass); ok {
			if class.includes(err) {
				return r.problem(), 0
			}
			continue
		}
		if !errors.Is(err, r.err) {
			continue
		}
		p = r.problem()
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
			oe  *tickets.OrderExistsError
			de  *declinedError
			ie  *tickets.InFlightError
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
		case errors.As(err, &oe):
			p.OrderID = oe.OrderID
		case errors.As(err, &de):
			p.OrderID = de.orderID
		case errors.As(err, &ie):
			retryAfter = max(ie.RetryAfter, time.Second)
		case p.Status == 503:
			retryAfter = time.Second
		}
		return p, retryAfter
	}
	panic("api: problemTable's last row matches every error")
}

// problem is the row's problem, before anything is taken from the error.
func (r problemRow) problem() Problem {
	return Problem{Type: ProblemTypePrefix + r.code, Title: r.title, Status: r.status, Code: r.code, Detail: r.detail}
}

// errorHandler writes every error as a problem (writeProblem). 5xx causes are logged with the
// request id and never sent to the client.
func errorHandler(log *slog.Logger, allow func(path string) []string) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		p, retry := problemFor(err)
		p.RequestID = requestID(c)
		if p.RequestID == "" { // refused by fasthttp before any middleware ran
			p.RequestID = newRequestID(c.Get(fiber.HeaderXRequestID))
		}
		if p.Status >= 500 {
			log.ErrorContext(c.UserContext(), "request failed", "request_id", p.RequestID, "method", c.Method(),
				"path", c.Path(), "status", p.Status, "err", err)
		}
		writeProblem(c.Context(), p, retry, allow)
		return nil
	}
}

// writeProblem is the one writer of problem responses, for errorHandler (everything Fiber
// routes, and what Fiber and fasthttp refuse before routing) and unknownMethods (methods Fiber
// does not know). It sends p with its status, the problem media type, the security headers
// and, where they apply: X-Request-Id (when p has a request id), Retry-After (retry in whole
// seconds, rounded up, when retry > 0), a Bearer challenge on a 401 (RFC 9110 requires one;
// it names the code only when the request carried an Authorization header), and on a 405 the
// Allow header: allow's methods for the request's path as Fiber routes it (undecoded).
func writeProblem(rc *fasthttp.RequestCtx, p Problem, retry time.Duration, allow func(path string) []string) {
	h := &rc.Response.Header
	if p.RequestID != "" {
		h.Set(fiber.HeaderXRequestID, p.RequestID)
	}
	if retry > 0 {
		secs := int((retry + time.Second - 1) / time.Second)
		h.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	}
	if p.Status == 401 {
		h.Set(fiber.HeaderWWWAuthenticate, bearerChallenge(p.Code, len(rc.Request.Header.Peek(fiber.HeaderAuthorization)) > 0))
	}
	if p.Status == 405 {
		h.Set(fiber.HeaderAllow, strings.Join(allow(string(rc.URI().PathOriginal())), ", "))
	}
	setSecurityHeaders(h)
	h.SetContentType(mimeProblem)
	rc.Response.SetStatusCode(p.Status)
	rc.Response.SetBodyRaw(renderProblem(p))
}

// storedProblem is err's problem (with requestID) as an answer stored to be sent again later,
// byte for byte (an order's idempotent reply, orderReply): the body writeProblem would send.
// Only problems without Retry-After, challenge or Allow are stored; the sending request adds
// Cache-Control itself (securityHeaders).
func storedProblem(err error, requestID string) tickets.Reply {
	p, _ := problemFor(err)
	p.RequestID = requestID
	return tickets.Reply{Status: p.Status, ContentType: mimeProblem, Body: renderProblem(p)}
}

// mimeProblem is the media type of every problem (RFC 9457).
const mimeProblem = "application/problem+json"

// renderProblem is the one encoding of a problem body: what writeProblem sends, and what an
// order's stored reply holds (storedProblem), byte for byte.
func renderProblem(p Problem) []byte {
	b, err := marshalJSON(p)
	if err != nil { // cannot happen: strings, ints and a map of strings
		panic(err)
	}
	return b
}

// bearerChallenge is the RFC 6750 WWW-Authenticate value for a 401 with the given code. The
// invalid_token error is named only when the request presented a bearer token.
func bearerChallenge(code string, presented bool) string {
	if !presented {
		return `Bearer realm="boxoffice"`
	}
	return fmt.Sprintf(`Bearer realm="boxoffice", error="invalid_token", error_description=%q`, code)
}
