package session_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"boxoffice/auth"
	"boxoffice/session"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestPatchDataMergeSemantics(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid := auth.NewID()
		s := e.login(t, uid)
		patch := func(p map[string]json.RawMessage, ifMatch *int64) (session.Session, error) {
			return e.store.PatchData(e.ctx, uid, s.ID, p, ifMatch)
		}
		got, err := patch(map[string]json.RawMessage{
			"cart":  raw(`{"seats": ["A1", "A2"], "show": 42, "hold": {"until": 1}}`),
			"theme": raw(` "dark" `),
			"big":   raw(`12345678901234567890123`),
		}, nil)
		if err != nil || got.Version != 1 {
			t.Fatalf("first patch: v=%d err=%v", got.Version, err)
		}
		if string(got.Data["theme"]) != `"dark"` || string(got.Data["big"]) != `12345678901234567890123` {
			t.Fatalf("values not stored compactly and exactly: %s %s", got.Data["theme"], got.Data["big"])
		}
		// RFC 7396: nested null removes, nested objects merge, arrays replace, top-level null deletes.
		got, err = patch(map[string]json.RawMessage{
			"cart":  raw(`{"seats": ["B7"], "hold": {"until": null, "by": "me"}, "note": null}`),
			"theme": raw(`null`),
			"new":   raw(`{"a": {"b": null}}`),
		}, nil)
		if err != nil || got.Version != 2 {
			t.Fatalf("second patch: v=%d err=%v", got.Version, err)
		}
		if c := string(got.Data["cart"]); c != `{"hold":{"by":"me"},"seats":["B7"],"show":42}` {
			t.Fatalf("merged cart = %s", c)
		}
		if _, ok := got.Data["theme"]; ok {
			t.Fatal("null did not delete theme")
		}
		if n := string(got.Data["new"]); n != `{"a":{}}` {
			t.Fatalf("nulls inside a new object must be dropped: %s", n)
		}
		// A patch that changes nothing keeps the version.
		got, err = patch(map[string]json.RawMessage{"big": raw(`12345678901234567890123`), "gone": raw(`null`)}, nil)
		if err != nil || got.Version != 2 {
			t.Fatalf("no-op patch: v=%d err=%v", got.Version, err)
		}
		// Stored per top-level key.
		if v, _ := e.rdb.HGet(e.ctx, e.sessionKey(uid, s.ID), "d:big").Result(); v != `12345678901234567890123` {
			t.Fatalf("d:big = %q", v)
		}
	})
}

func TestPatchDataIfMatch(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid := auth.NewID()
		s := e.login(t, uid)
		v0 := int64(0)
		got, err := e.store.PatchData(e.ctx, uid, s.ID, map[string]json.RawMessage{"a": raw(`1`)}, &v0)
		if err != nil || got.Version != 1 {
			t.Fatalf("matching If-Match: v=%d err=%v", got.Version, err)
		}
		for _, p := range []map[string]json.RawMessage{{"a": raw(`2`)}, {"o": raw(`{"x":1}`)}} {
			if _, err := e.store.PatchData(e.ctx, uid, s.ID, p, &v0); !errors.Is(err, session.ErrPrecondition) {
				t.Fatalf("stale If-Match: err = %v, want ErrPrecondition", err)
			}
		}
		cur, _ := e.store.Get(e.ctx, uid, s.ID)
		if cur.Version != 1 || string(cur.Data["a"]) != "1" || len(cur.Data) != 1 {
			t.Fatalf("a refused patch changed data: %+v", cur)
		}
	})
}

func TestPatchDataLimits(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) { c.MaxDataKeys = 3; c.MaxDataBytes = 100 })
		uid := auth.NewID()
		s := e.login(t, uid)
		p := func(m map[string]json.RawMessage) error {
			_, err := e.store.PatchData(e.ctx, uid, s.ID, m, nil)
			return err
		}
		if err := p(map[string]json.RawMessage{"a": raw(`1`), "b": raw(`2`), "c": raw(`3`)}); err != nil {
			t.Fatal(err)
		}
		var dle *session.DataLimitError
		if err := p(map[string]json.RawMessage{"d": raw(`4`)}); !errors.As(err, &dle) || dle.Keys != 4 || dle.MaxKeys != 3 {
			t.Fatalf("4th key: err = %v", err)
		}
		if err := p(map[string]json.RawMessage{"a": raw(`"` + strings.Repeat("x", 120) + `"`)}); !errors.Is(err, session.ErrDataTooLarge) {
			t.Fatalf("too many bytes: err = %v", err)
		}
		// Replacing a key and deleting another in one patch fits.
		if err := p(map[string]json.RawMessage{"a": raw(`null`), "d": raw(`4`)}); err != nil {
			t.Fatalf("swap within limits: %v", err)
		}
		cur, _ := e.store.Get(e.ctx, uid, s.ID)
		if len(cur.Data) != 3 || cur.Data["d"] == nil || cur.Data["a"] != nil {
			t.Fatalf("data = %v", cur.Data)
		}
		for _, bad := range []string{"", strings.Repeat("k", 129), "tab\there", "nul\x00"} {
			if err := p(map[string]json.RawMessage{bad: raw(`1`)}); !errors.Is(err, session.ErrInvalidData) {
				t.Fatalf("key %q: err = %v, want ErrInvalidData", bad, err)
			}
		}
	})
}

func TestPatchDataConcurrency(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid := auth.NewID()
		s := e.login(t, uid)
		st := e.store
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := 0; i < 50; i++ {
			wg.Add(2)
			go func() { // disjoint keys
				defer wg.Done()
				_, err := st.PatchData(e.ctx, uid, s.ID, map[string]json.RawMessage{fmt.Sprintf("k%02d", i): raw(fmt.Sprint(i))}, nil)
				errs <- err
			}()
			go func() { // the same key, merged: compare-and-set must keep every member
				defer wg.Done()
				_, err := st.PatchData(e.ctx, uid, s.ID, map[string]json.RawMessage{"shared": raw(fmt.Sprintf(`{"m%02d": true}`, i))}, nil)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		failed := 0
		for err := range errs {
			if errors.Is(err, session.ErrConflict) {
				failed++ // allowed under extreme contention, but must then be reported, not lost
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		cur, err := e.store.Get(e.ctx, uid, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(cur.Data) != 51 {
			t.Fatalf("kept %d keys, want 51", len(cur.Data))
		}
		var shared map[string]bool
		if err := json.Unmarshal(cur.Data["shared"], &shared); err != nil || len(shared)+failed != 50 {
			t.Fatalf("shared object kept %d members (+%d conflicts reported), want 50: %v", len(shared), failed, err)
		}
	})
}

func TestWritesNeverResurrect(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid := auth.NewID()
		for i := 0; i < 30; i++ {
			s := e.login(t, uid)
			e.clock.Advance(2 * time.Minute) // every read now also slides the deadline in the background
			var wg sync.WaitGroup
			wg.Add(4)
			go func() { defer wg.Done(); _, _ = e.store.Get(e.ctx, uid, s.ID) }()
			go func() { defer wg.Done(); _ = e.store.Revoke(e.ctx, uid, s.ID, s.ID, session.ReasonLogout) }()
			go func() {
				defer wg.Done()
				_, _ = e.store.PatchData(e.ctx, uid, s.ID, map[string]json.RawMessage{"x": raw(`{"y":1}`)}, nil)
			}()
			go func() {
				defer wg.Done()
				_, _ = e.store.Rotate(e.ctx, session.Rotation{UserID: uid, SessionID: s.ID,
					PresentedHash: "h0", SuccessorHash: "h1", RequestID: "r"})
			}()
			wg.Wait()
			e.store.Wait()
			if e.exists(t, e.sessionKey(uid, s.ID)) {
				t.Fatalf("round %d: session resurrected after logout", i)
			}
			if _, err := e.store.PatchData(e.ctx, uid, s.ID, map[string]json.RawMessage{"z": raw(`1`)}, nil); !errors.Is(err, session.ErrRevoked) {
				t.Fatalf("patch after logout: %v, want ErrRevoked", err)
			}
			if e.exists(t, e.sessionKey(uid, s.ID)) {
				t.Fatal("patch recreated a revoked session")
			}
		}
	})
}
