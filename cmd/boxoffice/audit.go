package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"boxoffice/audit"
	"boxoffice/metrics"
)

// openAuditLog opens the destination of the audit stream (BOXOFFICE_AUDIT_LOG): stderr or
// stdout as given, nothing for "off", or a file, appended to and created with mode 0600 (an
// existing file keeps its mode). closeLog closes the file, if any.
func openAuditLog(dest string, stdout, stderr io.Writer) (w io.Writer, closeLog func() error, err error) {
	none := func() error { return nil }
	switch dest {
	case "off":
		return nil, none, nil
	case "", "stderr":
		return stderr, none, nil
	case "stdout":
		return stdout, none, nil
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("BOXOFFICE_AUDIT_LOG: %w", err)
	}
	return f, f.Close, nil
}

// newAuditRecorder is where every audit event goes: stamped once (ID, time, request), then
// written to the audit stream (out; nil: off), kept in store within timeout per write (the
// Redis timeout, as for any other command; failures are logged to log and counted, never
// fail the action) and counted in m (nil: no metrics).
func newAuditRecorder(out io.Writer, store audit.Appender, timeout time.Duration, log *slog.Logger, now func() time.Time, m *metrics.Metrics) audit.Recorder {
	var rs audit.Recorders
	if out != nil {
		rs = append(rs, audit.NewLog(out, now))
	}
	keeper := &audit.Keeper{Store: store, Timeout: timeout, Log: log, Now: now}
	rs = append(rs, keeper)
	if m != nil {
		m.RegisterAuditFailures(keeper.Failures)
	}
	return audit.Stamp{Now: now, Next: withMetrics(rs, m)}
}
