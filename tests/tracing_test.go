package tests

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is a tiny OTLP/HTTP collector on loopback: it keeps every span it is sent, and
// the whole of every export as JSON text, to search for what must never be there.
type otlpReceiver struct {
	srv *httptest.Server

	mu      sync.Mutex
	exports int
	spans   []span
	text    strings.Builder
}

// span is one exported span, flattened.
type span struct {
	traceID, spanID, parentID string
	name                      string
	kind                      tracepb.Span_SpanKind
	attrs                     map[string]string
	status                    tracepb.Status_StatusCode
	service                   string // its resource's service.name
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	r := &otlpReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *otlpReceiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != "POST" || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces application/x-protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	var export collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &export)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	js, _ := protojson.Marshal(&export)
	r.mu.Lock()
	r.exports++
	r.text.Write(js)
	r.text.WriteByte('\n')
	for _, rs := range export.GetResourceSpans() {
		service := attrMap(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, span{
					traceID: hex.EncodeToString(s.GetTraceId()), spanID: hex.EncodeToString(s.GetSpanId()),
					parentID: hex.EncodeToString(s.GetParentSpanId()), name: s.GetName(), kind: s.GetKind(),
					attrs: attrMap(s.GetAttributes()), status: s.GetStatus().GetCode(), service: service,
				})
			}
		}
	}
	r.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.GetKey()] = v.GetStringValue()
		case *commonpb.AnyValue_IntValue:
			m[kv.GetKey()] = fmt.Sprint(v.GetIntValue())
		case *commonpb.AnyValue_BoolValue:
			m[kv.GetKey()] = fmt.Sprint(v.GetBoolValue())
		case *commonpb.AnyValue_DoubleValue:
			m[kv.GetKey()] = fmt.Sprint(v.GetDoubleValue())
		default:
			m[kv.GetKey()] = v.String()
		}
	}
	return m
}

// trace waits until the receiver holds spans of trace id that satisfy done, and returns them.
func (r *otlpReceiver) trace(t *testing.T, id string, done func([]span) bool) []span {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		r.mu.Lock()
		var got []span
		for _, s := range r.spans {
			if s.traceID == id {
				got = append(got, s)
			}
		}
		r.mu.Unlock()
		if done(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s: spans %v still incomplete after %s", id, got, guard)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// find returns the spans of trace that match.
func find(trace []span, match func(span) bool) []span {
	var out []span
	for _, s := range trace {
		if match(s) {
			out = append(out, s)
		}
	}
	return out
}

func serverSpanNamed(name string) func([]span) bool {
	return func(tr []span) bool {
		return len(find(tr, func(s span) bool { return s.kind == tracepb.Span_SPAN_KIND_SERVER && s.name == name })) == 1
	}
}

// tracingEnv turns tracing on towards the receiver, exporting batches every 50 ms.
func tracingEnv(r *otlpReceiver) map[string]string {
	return map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": r.srv.URL,
		"OTEL_BSP_SCHEDULE_DELAY":     "50",
		"OTEL_SERVICE_NAME":           "boxoffice-e2e",
		"BOXOFFICE_LOG_LEVEL":         "debug", // the access log: one line per request, with its trace id
	}
}

// TestTracing: with OTEL_EXPORTER_OTLP_ENDPOINT set, a request continues the caller's W3C trace
// and is exported as a server span named after its route, with Redis commands (and, for a
// hold, SQL statements) as its children; the answer's X-Trace-Id and the request's log line
// carry the trace id; no span holds a Redis key, a token, a password or an id.
func TestTracing(t *testing.T) {
	recv := newOTLPReceiver(t)
	env := tracingEnv(recv)
	e := ticketDeployment(t, 1, env)
	c := e.d.inst(0)
	u := signIn(t, c)
	screening := e.newScreening(t)

	const tid, pid = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
	r := c.do(t, "GET", "/v1/session", u.tk.AccessToken, nil, "traceparent", "00-"+tid+"-"+pid+"-01")
	expect(t, r, 200, "")
	if got := r.header.Get("X-Trace-Id"); got != tid {
		t.Fatalf("X-Trace-Id %q, want the caller's trace %s", got, tid)
	}
	tr := recv.trace(t, tid, func(tr []span) bool {
		srv := find(tr, func(s span) bool { return s.kind == tracepb.Span_SPAN_KIND_SERVER })
		return len(srv) == 1 && len(find(tr, func(s span) bool { return s.parentID == srv[0].spanID && s.attrs["db.system"] == "redis" })) > 0
	})
	srv := find(tr, func(s span) bool { return s.kind == tracepb.Span_SPAN_KIND_SERVER })[0]
	if srv.name != "GET /v1/session" || srv.parentID != pid || srv.attrs["http.route"] != "/v1/session" ||
		srv.attrs["http.request.method"] != "GET" || srv.attrs["http.response.status_code"] != "200" ||
		srv.service != "boxoffice-e2e" || srv.status == tracepb.Status_STATUS_CODE_ERROR {
		t.Fatalf("server span %+v", srv)
	}
	sessionSpan := srv
	for _, s := range find(tr, func(s span) bool { return s.attrs["db.system"] == "redis" }) {
		if s.kind != tracepb.Span_SPAN_KIND_CLIENT {
			t.Errorf("redis span %+v is not a client span", s)
		}
	}

	r = c.do(t, "POST", "/v1/screenings/"+screening.ID+"/holds", u.tk.AccessToken, map[string]any{"seat_ids": []string{"E1"}})
	expect(t, r, 201, "")
	holdTrace := r.header.Get("X-Trace-Id")
	if len(holdTrace) != 32 || strings.Trim(holdTrace, "0123456789abcdef") != "" {
		t.Fatalf("X-Trace-Id %q is not 32 hex digits", holdTrace)
	}
	tr = recv.trace(t, holdTrace, func(tr []span) bool {
		srv := find(tr, func(s span) bool { return s.kind == tracepb.Span_SPAN_KIND_SERVER })
		return len(srv) == 1 && len(find(tr, func(s span) bool {
			return s.parentID == srv[0].spanID && s.attrs["db.system.name"] == "postgresql"
		})) > 0
	})
	srv = find(tr, func(s span) bool { return s.kind == tracepb.Span_SPAN_KIND_SERVER })[0]
	if srv.name != "POST /v1/screenings/:id/holds" || srv.parentID != "" || srv.attrs["http.response.status_code"] != "201" {
		t.Fatalf("server span %+v", srv)
	}
	for _, s := range find(tr, func(s span) bool { return s.attrs["db.system.name"] == "postgresql" }) {
		if s.attrs["db.query.text"] == "" || s.kind != tracepb.Span_SPAN_KIND_CLIENT {
			t.Errorf("postgres span %+v", s)
		}
	}

	// The request's access log line carries its trace id and its server span's id.
	logs, _ := os.ReadFile(e.d.procs[0].log)
	if !logLine(logs, func(l map[string]any) bool {
		return l["msg"] == "request" && l["trace_id"] == tid && l["span_id"] == sessionSpan.spanID
	}) {
		t.Errorf("no access log line with trace_id %s and span_id %s", tid, sessionSpan.spanID)
	}

	// Nothing secret in anything exported.
	recv.mu.Lock()
	text := recv.text.String()
	recv.mu.Unlock()
	for _, secret := range []string{"bx:", "{u:", u.tk.AccessToken, u.tk.RefreshToken, u.pw, u.tk.SessionID, u.tk.Session.UserID, testSecret} {
		if secret != "" && strings.Contains(text, secret) {
			t.Errorf("an exported span holds %q", secret)
		}
	}
}

// logLine reports whether some JSON line of logs satisfies match.
func logLine(logs []byte, match func(map[string]any) bool) bool {
	for _, line := range bytes.Split(logs, []byte("\n")) {
		var l map[string]any
		if json.Unmarshal(line, &l) == nil && match(l) {
			return true
		}
	}
	return false
}

// TestTracingOff: without the OTEL_* environment asking for it (or with OTEL_SDK_DISABLED=true
// beside an endpoint), nothing is exported, even at exit, no answer carries X-Trace-Id, even
// to a sampled traceparent, and no log line has a trace id.
func TestTracingOff(t *testing.T) {
	recv := newOTLPReceiver(t)
	env := tracingEnv(recv)
	env["OTEL_SDK_DISABLED"] = "true"
	d := deploy(t, 1, shared.URL(), env)
	for _, c := range []*client{fleet.inst(0), d.inst(0)} {
		u := signIn(t, c)
		r := c.do(t, "GET", "/v1/session", u.tk.AccessToken, nil, "traceparent", "00-5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174-01")
		expect(t, r, 200, "")
		if h := r.header.Get("X-Trace-Id"); h != "" {
			t.Fatalf("tracing off, X-Trace-Id %q", h)
		}
	}
	d.stop() // a provider would flush at exit
	logs, _ := os.ReadFile(d.procs[0].log)
	if logLine(logs, func(l map[string]any) bool { _, ok := l["trace_id"]; return ok }) {
		t.Errorf("tracing off, a log line has a trace_id:\n%s", tailBytes(logs, 2000))
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.exports != 0 {
		t.Fatalf("tracing off, %d exports received", recv.exports)
	}
}
