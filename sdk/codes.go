package sdk

// The problem codes the API sends, as Problem.Code, by HTTP status (openapi.yaml, schema
// Problem, lists them with their meaning; a test fails when a code is missing here or one here
// is not in the spec). Codes are stable: compare them, not titles or details.
const (
	// 400
	CodeMalformedJSON         ProblemCode = "malformed_json"          // the body is not valid JSON
	CodeInvalidIfMatch        ProblemCode = "invalid_if_match"        // If-Match is neither * nor entity tags
	CodeBadRequest            ProblemCode = "bad_request"             // not valid HTTP
	CodeIdempotencyKeyMissing ProblemCode = "idempotency_key_missing" // POST /v1/orders without Idempotency-Key
	CodeInvalidIdempotencyKey ProblemCode = "invalid_idempotency_key" // a malformed Idempotency-Key
	CodeInvalidLastEventID    ProblemCode = "invalid_last_event_id"   // a malformed Last-Event-ID
	CodeInvalidSignature      ProblemCode = "invalid_signature"       // a payment webhook's signature is wrong

	// 401: the Client handles token_expired itself (it refreshes and retries once), and ends
	// its session on session_revoked, session_expired, invalid_refresh_token and
	// refresh_token_reused (the error is then also ErrSignedOut).
	CodeMissingToken        ProblemCode = "missing_token"         // no credential
	CodeInvalidToken        ProblemCode = "invalid_token"         // a malformed or forged access token
	CodeTokenExpired        ProblemCode = "token_expired"         // the access token expired: refresh
	CodeSessionRevoked      ProblemCode = "session_revoked"       // signed out or revoked: sign in again
	CodeSessionExpired      ProblemCode = "session_expired"       // idle or absolute deadline passed: sign in again
	CodeInvalidCredentials  ProblemCode = "invalid_credentials"   // unknown username or wrong password
	CodeInvalidRefreshToken ProblemCode = "invalid_refresh_token" // a garbled or foreign refresh token
	CodeRefreshTokenReused  ProblemCode = "refresh_token_reused"  // a spent refresh token, after its grace window

	// 402, 403, 404, 405, 408
	CodePaymentDeclined  ProblemCode = "payment_declined"   // the payment was declined; the hold is kept
	CodeCSRFFailed       ProblemCode = "csrf_failed"        // cookie transport only: CSRF or origin check failed
	CodeForbidden        ProblemCode = "forbidden"          // not an administrator
	CodeNotFound         ProblemCode = "not_found"          // no such resource (or not yours)
	CodeMethodNotAllowed ProblemCode = "method_not_allowed" // the path has other methods
	CodeRequestTimeout   ProblemCode = "request_timeout"    // the request took too long to arrive

	// 409, 410
	CodeUsernameTaken          ProblemCode = "username_taken"            // the username is registered
	CodeConflict               ProblemCode = "conflict"                  // concurrent changes: retry, or sign in again
	CodeSeatsUnavailable       ProblemCode = "seats_unavailable"         // seats held or sold by someone else (SeatIds)
	CodeNotEnoughSeats         ProblemCode = "not_enough_seats"          // best available found too few seats
	CodeScreeningCancelled     ProblemCode = "screening_cancelled"       // the screening was cancelled
	CodeHallBusy               ProblemCode = "hall_busy"                 // screenings would overlap in a hall
	CodeHallInUse              ProblemCode = "hall_in_use"               // a hall's layout is in use
	CodeOrderExists            ProblemCode = "order_exists"              // the hold has an order already (OrderId)
	CodeIdempotencyKeyInFlight ProblemCode = "idempotency_key_in_flight" // the first request with the key runs still
	CodeCancellationClosed     ProblemCode = "cancellation_closed"       // too late to cancel
	CodeOrderNotCancellable    ProblemCode = "order_not_cancellable"     // only confirmed orders can be cancelled
	CodeHoldExpired            ProblemCode = "hold_expired"              // the hold is no longer active

	// 412, 413, 415
	CodePreconditionFailed   ProblemCode = "precondition_failed"    // If-Match is not the data's current version
	CodePayloadTooLarge      ProblemCode = "payload_too_large"      // the body is over the size limit
	CodeSessionDataTooLarge  ProblemCode = "session_data_too_large" // the session data would exceed a limit
	CodeUnsupportedMediaType ProblemCode = "unsupported_media_type" // not a JSON body, or compressed

	// 422
	CodeValidationFailed     ProblemCode = "validation_failed"      // invalid fields: see Errors
	CodeInvalidSessionData   ProblemCode = "invalid_session_data"   // the patch is not an object or has a bad key
	CodeTooManySeats         ProblemCode = "too_many_seats"         // more seats than one hold may take
	CodeSeatGroupSplit       ProblemCode = "seat_group_split"       // part of a seat group (SeatIds)
	CodeOrphanSeat           ProblemCode = "orphan_seat"            // a single seat left stranded (SeatIds)
	CodeScreeningStarted     ProblemCode = "screening_started"      // the screening has started
	CodeIdempotencyKeyReused ProblemCode = "idempotency_key_reused" // the key was used for another request

	// 429, 431
	CodeTooManyAttempts ProblemCode = "too_many_attempts" // throttled sign-ins or refreshes: see Retry-After
	CodeRateLimited     ProblemCode = "rate_limited"      // too many accounts created: see Retry-After
	CodeHeadersTooLarge ProblemCode = "headers_too_large" // request line and headers over the limit

	// 5xx
	CodeInternalError      ProblemCode = "internal_error"      // unexpected; logged with RequestId
	CodeServiceUnavailable ProblemCode = "service_unavailable" // retry after Retry-After; keep the tokens
)
