package audit

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Log is a Recorder that writes every event as one JSON line to a destination of its own. Its
// lines look like the application log's (time, level, msg) and carry "log":"audit", so the two
// can share stderr and still be told apart; every field of the event follows, the empty ones
// left out. Nothing else is ever written. It is safe for concurrent use.
type Log struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// NewLog returns a Log writing to w. now is the application clock for events without At
// (nil: time.Now). Write errors are ignored: an audit line that cannot be written must not
// fail the action it describes.
func NewLog(w io.Writer, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{w: w, now: now}
}

// logLine is one line: the application log's first fields, then the event's.
type logLine struct {
	Time  time.Time `json:"time"`
	Level string    `json:"level"`
	Msg   string    `json:"msg"`
	Log   string    `json:"log"`
	Event
}

// Record implements Recorder.
func (l *Log) Record(ctx context.Context, e Event) {
	e = Fill(ctx, e, l.now)
	b, err := json.Marshal(logLine{Time: time.Now(), Level: "INFO", Msg: "audit", Log: "audit", Event: e})
	if err != nil { // cannot happen: strings and times
		return
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(b) // one Write per line, so that lines stay whole next to other writers'
}
