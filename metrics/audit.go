package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"boxoffice/audit"
)

// The label values audit events may put into metrics. An event's reason or type outside these
// lists counts as "other": a bug elsewhere cannot multiply the series.
var (
	auditTypes = func() map[string]bool {
		m := map[string]bool{}
		for _, t := range audit.Types() {
			m[string(t)] = true
		}
		return m
	}()
	auditOutcomes     = set(string(audit.Success), string(audit.Failure))
	loginFailReasons  = set("unknown_user", "bad_password", "password_changed")
	throttleLimits    = set("account", "account_global", "device", "network")
	revocationReasons = set("logout", "logout_all", "revoked_by_user", "admin", "password_change",
		"token_reuse", "session_limit")
	paymentReasons = set("", "buyer", "screening_cancelled", "payment_failed", "payment_declined",
		"expired", "late_payment", "admin")
	paymentOutcomes = map[audit.Type]string{
		audit.OrderPaid: "paid", audit.OrderRefunded: "refunded", audit.OrderCancelled: "cancelled",
	}
)

// auditCounters are the metrics derived from audit events.
type auditCounters struct {
	logins          *prometheus.CounterVec // outcome, reason
	throttle        *prometheus.CounterVec // decision, limit
	reuse           prometheus.Counter
	revocations     *prometheus.CounterVec // reason
	passwordChanges *prometheus.CounterVec // outcome
	payments        *prometheus.CounterVec // outcome, reason
	events          *prometheus.CounterVec // type, outcome
}

func (m *Metrics) initAudit() {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	a := &m.audit
	a.logins = counter("logins_total", "Password sign-ins by outcome (success, failure, throttled) and reason (failure: unknown_user, bad_password, password_changed; throttled: the limit spent).", "outcome", "reason")
	a.throttle = counter("login_throttle_decisions_total", "Login throttle decisions: allowed (limit \"\"), or refused with the limit spent (account, account_global, device, network).", "decision", "limit")
	a.reuse = prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "refresh_reuse_detections_total",
		Help: "Spent refresh tokens presented again outside the grace period (possible theft); each revoked its session."})
	a.revocations = counter("session_revocations_total", "Sessions ended before their time, by reason.", "reason")
	a.passwordChanges = counter("password_changes_total", "Password changes by outcome (success, failure).", "outcome")
	a.payments = counter("payments_total", "Orders whose money moved, by outcome (paid, refunded, cancelled) and reason.", "outcome", "reason")
	a.events = counter("audit_events_total", "Audit events recorded, by type and outcome.", "type", "outcome")
	m.reg.MustRegister(a.logins, a.throttle, a.reuse, a.revocations, a.passwordChanges, a.payments, a.events)

	// The series alerts divide by exist from the start.
	a.logins.WithLabelValues("success", "")
	for r := range loginFailReasons {
		a.logins.WithLabelValues("failure", r)
	}
	a.throttle.WithLabelValues("allowed", "")
	for l := range throttleLimits {
		a.logins.WithLabelValues("throttled", l)
		a.throttle.WithLabelValues("refused", l)
	}
	for r := range revocationReasons {
		a.revocations.WithLabelValues(r)
	}
	a.passwordChanges.WithLabelValues("success")
	a.passwordChanges.WithLabelValues("failure")
}

// Record implements audit.Recorder: it counts e. It never blocks and never fails.
func (m *Metrics) Record(_ context.Context, e audit.Event) {
	a := &m.audit
	outcome := pick(string(e.Outcome), auditOutcomes)
	if e.Outcome == "" {
		outcome = string(audit.Success) // audit.Fill's default
	}
	a.events.WithLabelValues(pick(string(e.Type), auditTypes), outcome).Inc()
	switch e.Type {
	case audit.LoginSuccess:
		a.logins.WithLabelValues("success", "").Inc()
		a.throttle.WithLabelValues("allowed", "").Inc()
	case audit.LoginFail:
		a.logins.WithLabelValues("failure", pick(e.Reason, loginFailReasons)).Inc()
		a.throttle.WithLabelValues("allowed", "").Inc()
	case audit.LoginLock:
		limit := pick(e.Reason, throttleLimits)
		a.logins.WithLabelValues("throttled", limit).Inc()
		a.throttle.WithLabelValues("refused", limit).Inc()
	case audit.TokenReuse:
		a.reuse.Inc()
	case audit.SessionRevoked:
		a.revocations.WithLabelValues(pick(e.Reason, revocationReasons)).Inc()
	case audit.PasswordChange:
		a.passwordChanges.WithLabelValues(outcome).Inc()
	case audit.OrderPaid, audit.OrderRefunded, audit.OrderCancelled:
		a.payments.WithLabelValues(paymentOutcomes[e.Type], pick(e.Reason, paymentReasons)).Inc()
	}
}

var _ audit.Recorder = (*Metrics)(nil)
