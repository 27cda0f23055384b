package api

import (
	"bufio"
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/tickets"
	"boxoffice/tickets/live"
)

const mimeEventStream = "text/event-stream; charset=utf-8"

// errBadLastEventID: Last-Event-ID (or ?after=) is not a version this API sent.
var errBadLastEventID = errors.New("malformed Last-Event-ID")

// StreamConfig tunes the seat event streams. Zero values take the defaults.
type StreamConfig struct {
	// Heartbeat is the pause after which an idle stream gets a comment line, so that proxies
	// keep it open and a client that left is noticed; default 15s.
	Heartbeat time.Duration
	// RetryMillis is the reconnection delay sent to clients (the SSE retry field); default 2000.
	RetryMillis int
}

// handleSeatEvents streams a screening's seat changes as Server-Sent Events: a "ready" event
// with the version the stream starts after, then a "seats" event per change (id: its
// version), or "reset" when changes were missed that the server no longer keeps; comment lines
// as heartbeats. Last-Event-ID, or the query parameter after, resumes after that version.
//
// fasthttp does not tell a handler that its client left: the stream ends when a write (an
// event or a heartbeat) fails, or when the hub closes at shutdown.
func handleSeatEvents(t *tickets.Service, hub *live.Hub, cfg StreamConfig, writeTimeout time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", screeningID)
		if err != nil {
			return err
		}
		after, err := resumeAfter(c)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		if c.Method() == fiber.MethodHead { // the headers a GET would get, and no stream
			if _, err := t.Screening(c.UserContext(), id); err != nil {
				return err
			}
			c.Set(fiber.HeaderContentType, mimeEventStream)
			return nil
		}
		sub, err := hub.Subscribe(c.UserContext(), id, after)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, mimeEventStream)
		c.Set("X-Accel-Buffering", "no") // nginx: pass events on at once
		fctx := c.Context()
		_ = fctx.SetWriteDeadline(time.Now().Add(writeTimeout)) // the handler's goroutine: allowed
		conn := fctx.Conn()                                     // the stream writer must not touch fctx (fasthttp recycles it)
		deadline := func() { _ = conn.SetWriteDeadline(time.Now().Add(writeTimeout)) }
		fctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			defer sub.Close()
			stream(w, sub, cfg, deadline)
		})
		return nil
	}
}

// resumeAfter reads the version a client resumes after: Last-Event-ID, else ?after=, else -1
// (from now).
func resumeAfter(c *fiber.Ctx) (int64, error) {
	v := strings.TrimSpace(c.Get("Last-Event-ID"))
	if v == "" {
		v = c.Query("after")
	}
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || v[0] < '0' || v[0] > '9' || (len(v) > 1 && v[0] == '0') { // digits only: no sign, not "-0"
		return 0, errBadLastEventID
	}
	return n, nil
}

// stream writes sub's messages to w until a write fails or the hub closes.
func stream(w *bufio.Writer, sub *live.Subscription, cfg StreamConfig, deadline func()) {
	buf := make([]byte, 0, 512)
	buf = append(buf, "retry: "...)
	buf = strconv.AppendInt(buf, int64(cfg.RetryMillis), 10)
	buf = append(buf, "\n\n"...)
	buf = appendEvent(buf, "ready", sub.Start, func(b []byte) []byte {
		return appendVersionData(b, sub, sub.Start)
	})
	for {
		deadline()
		if _, err := w.Write(buf); err != nil || w.Flush() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Heartbeat)
		m, err := sub.Next(ctx)
		cancel()
		buf = buf[:0]
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			buf = append(buf, ": ping\n\n"...)
		case err != nil:
			return // the hub closed: the client reconnects, to another instance
		case m.Kind == live.Reset:
			buf = appendEvent(buf, "reset", m.Version, func(b []byte) []byte { return appendVersionData(b, sub, m.Version) })
		default:
			buf = appendEvent(buf, "seats", m.Version, func(b []byte) []byte { return appendSeatsData(b, m.Event) })
		}
	}
}

// appendEvent appends one event: its name, id and one data line.
func appendEvent(b []byte, name string, id int64, data func([]byte) []byte) []byte {
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\nid: "...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, "\ndata: "...)
	b = data(b)
	return append(b, "\n\n"...)
}

// appendVersionData appends {"screening_id":…,"version":…}.
func appendVersionData(b []byte, sub *live.Subscription, v int64) []byte {
	b = append(b, `{"screening_id":`...)
	b = appendJSONString(b, sub.ScreeningID())
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, v, 10)
	return append(b, '}')
}

// appendSeatsData appends {"screening_id":…,"version":…,"seats":[{"id":…,"status":…}],"at":…}.
func appendSeatsData(b []byte, ev tickets.SeatEvent) []byte {
	b = append(b, `{"screening_id":`...)
	b = appendJSONString(b, ev.ScreeningID)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, ev.Version, 10)
	b = append(b, `,"seats":[`...)
	for i, s := range ev.Seats {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, s.SeatID)
		b = append(b, `,"status":`...)
		b = appendJSONString(b, string(s.Status))
		b = append(b, '}')
	}
	b = append(b, `],"at":"`...)
	b = ev.At.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}
