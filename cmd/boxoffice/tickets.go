package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	"boxoffice/audit"
	"boxoffice/session"
	"boxoffice/tickets"
	"boxoffice/tickets/demo"
	"boxoffice/tickets/postgres"
	"boxoffice/tickets/sqlite"
	"boxoffice/tickets/testpay"
)

// openTickets opens the ticketing store: PostgreSQL at DATABASE_URL (migrated at start-up;
// safe when many instances start at once), else the embedded SQLite, with a warning. tp, when
// not nil, traces PostgreSQL's statements.
func openTickets(ctx context.Context, cfg config, now func() time.Time, log *slog.Logger, tp trace.TracerProvider) (tickets.Store, error) {
	if cfg.DatabaseURL != "" {
		st, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: int32(cfg.DBMaxConns), TracerProvider: tp})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL (DATABASE_URL): %w", err)
		}
		return st, nil
	}
	if log != nil {
		where := "in memory: lost on exit"
		if cfg.SQLitePath != "" {
			where = "in " + cfg.SQLitePath
		}
		log.Warn("DATABASE_URL is not set: tickets are kept in an embedded SQLite ("+where+"), for one instance only; use PostgreSQL in production",
			"sqlite_path", cfg.SQLitePath)
	}
	st, err := sqlite.Open(ctx, cfg.SQLitePath, sqlite.Options{Now: now})
	if err != nil {
		return nil, fmt.Errorf("open the embedded SQLite: %w", err)
	}
	return st, nil
}

// newTickets is the ticketing service over store, with sessions as its session check, the
// configured payment providers, and events as the recorder of orders' audit events (nil
// records none).
func newTickets(cfg config, store tickets.Store, sessions *session.Store, now func() time.Time, events audit.Recorder) *tickets.Service {
	var check tickets.SessionChecker
	if sessions != nil {
		check = sessionCheck{sessions}
	}
	return tickets.NewService(store, tickets.Config{HoldTTL: cfg.HoldTTL, MaxSeatsPerHold: cfg.MaxSeatsPerHold,
		Now: now, Sessions: check, Payments: paymentProviders(cfg), CancelCutoff: cfg.CancelCutoff,
		PaymentGrace: cfg.PaymentGrace, KeyLease: cfg.IdempotencyLease, Audit: events})
}

// paymentProviders are the payment methods orders can be paid with: "test" (tickets/testpay)
// when BOXOFFICE_TEST_PAYMENTS is on, none otherwise.
func paymentProviders(cfg config) map[string]tickets.PaymentProvider {
	p := map[string]tickets.PaymentProvider{}
	if cfg.TestPayments {
		p["test"] = &testpay.Provider{Secret: cfg.WebhookSecret}
	}
	return p
}

// pendingPromise bounds BOXOFFICE_PAYMENT_GRACE + BOXOFFICE_JANITOR_INTERVAL for the promise
// that no order stays pending a minute past its deadline (a janitor round takes time too).
const pendingPromise = 50 * time.Second

// warnPayments logs what the payment configuration means for a deployment.
func warnPayments(cfg config, log *slog.Logger) {
	switch {
	case cfg.TestPayments:
		log.Warn("BOXOFFICE_TEST_PAYMENTS is on: the built-in \"test\" payment method accepts fake payments (token test_success); turn it off in production")
	default:
		log.Warn("no payment method is configured (BOXOFFICE_TEST_PAYMENTS=false): orders cannot be paid")
	}
	// The promise: no order stays pending past its deadline plus a minute. The janitor cancels a
	// payment PaymentGrace after the deadline, at its first round after that.
	if cfg.PaymentGrace+cfg.JanitorInterval > pendingPromise {
		log.Warn("BOXOFFICE_PAYMENT_GRACE + BOXOFFICE_JANITOR_INTERVAL exceed 50s: orders may stay pending more than a minute past their deadline",
			"grace", cfg.PaymentGrace.String(), "janitor_interval", cfg.JanitorInterval.String())
	}
	switch {
	case len(cfg.WebhookSecret) == 0:
		log.Warn("BOXOFFICE_PAYMENT_WEBHOOK_SECRET is not set: payment webhooks are refused (400 invalid_signature), so asynchronous payments never complete: their orders expire after the hold's deadline")
	case len(cfg.WebhookSecret) < 16:
		log.Warn("BOXOFFICE_PAYMENT_WEBHOOK_SECRET is shorter than 16 bytes: webhook signatures are easier to forge (generate one with: openssl rand -base64 32)")
	}
}

// sessionCheck is the session store as the ticketing domain's SessionChecker.
type sessionCheck struct{ s *session.Store }

func (c sessionCheck) Alive(ctx context.Context, refs []tickets.SessionRef) ([]bool, error) {
	rs := make([]session.Ref, len(refs))
	for i, r := range refs {
		rs[i] = session.Ref{UserID: r.UserID, SessionID: r.SessionID}
	}
	return c.s.Alive(ctx, rs)
}

// MovedTo makes sessionCheck a tickets.SessionMover: a session a password change moved
// names its new id in its revocation marker.
func (c sessionCheck) MovedTo(ctx context.Context, r tickets.SessionRef) (string, error) {
	return c.s.Resumable(ctx, r.UserID, r.SessionID)
}

// demoDataCommand loads the demo catalogue into the configured database:
//
//	boxoffice demo-data
//
// With DATABASE_URL it fills that PostgreSQL database; with BOXOFFICE_SQLITE_PATH that file.
// Loading twice adds nothing.
func demoDataCommand(ctx context.Context, cfg config, stdout io.Writer) error {
	if cfg.DatabaseURL == "" && cfg.SQLitePath == "" {
		return fmt.Errorf("demo-data needs DATABASE_URL or BOXOFFICE_SQLITE_PATH: the in-memory database lives only inside a running server (which loads the demo catalogue itself)")
	}
	store, err := openTickets(ctx, cfg, time.Now, nil, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := demo.Load(ctx, newTickets(cfg, store, nil, time.Now, nil), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo catalogue loaded: %d movies, %d new screenings\n", len(demo.Movies), n)
	return nil
}
