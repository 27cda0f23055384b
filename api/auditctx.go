package api

import (
	"context"
	"sync"

	"github.com/gofiber/fiber/v2"

	"boxoffice/audit"
)

// auditRequest gives audit events the circumstances of the request being handled: the client
// IP, the cleaned User-Agent, the request id and the trace id. They are worked out the first
// time an event asks (most requests record none: reading and cleaning the headers for each
// would cost about 1.5µs) and kept. Events are recorded while the request is handled, never
// after: c is only valid until then.
type auditRequest struct {
	c    *fiber.Ctx
	ctx  context.Context // the request's, for its trace
	id   string
	once sync.Once
	r    audit.Request
}

// AuditRequest implements audit.RequestSource.
func (a *auditRequest) AuditRequest() audit.Request {
	a.once.Do(func() {
		a.r = audit.Request{IP: clientIP(a.c), UserAgent: userAgent(a.c), RequestID: a.id, TraceID: traceID(a.ctx)}
	})
	return a.r
}
