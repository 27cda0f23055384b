package tests

import (
	"context"
	"testing"
	"time"
)

// Holds belong to the session that made them: whatever ends a session — logout, logout-all,
// DELETE /v1/sessions/{id}, an administrator's revocation, refresh-token reuse, a password
// change (for the other sessions), or the session vanishing from Redis — releases its holds
// within seconds. Each case waits for the seats by polling the seat map (bounded by the guard),
// then another user holds them, and the hold reads "revoked" to its user's other session.

// TestTicketsSessionEndReleasesHolds runs every case on two instances over one PostgreSQL and
// one Redis, with no refresh grace window (a spent refresh token presented again is reuse at
// once) and a janitor running every 200 ms.
func TestTicketsSessionEndReleasesHolds(t *testing.T) {
	e := ticketDeployment(t, 2, map[string]string{"BOXOFFICE_REFRESH_GRACE": "0s", "BOXOFFICE_JANITOR_INTERVAL": "200ms"})
	c0, c1 := e.d.inst(0), e.d.inst(1)

	// released waits until the seats are available, checks that another user can hold them
	// and that the hold reads revoked (read with reader, a live session of the hold's user).
	released := func(t *testing.T, sc string, h tkHold, reader string) {
		t.Helper()
		awaitSeats(t, c1, sc, "available", h.SeatIDs...)
		if got := getHold(t, c0, reader, h.ID); got.Status != "revoked" || got.ExpiresInSeconds != 0 {
			t.Fatalf("the hold of the ended session reads %s (expires in %ds), want revoked", got.Status, got.ExpiresInSeconds)
		}
		other := signIn(t, c1).tk.AccessToken
		mustHold(t, c0, other, sc, h.SeatIDs...)
	}
	// twoSessions signs a new user in twice, on each instance.
	twoSessions := func(t *testing.T) (string, string, tokens, tokens) {
		name, pw := newUser(t, c0)
		return name, pw, login(t, c0, name, pw), login(t, c1, name, pw)
	}

	t.Run("logout", func(t *testing.T) {
		sc := e.newScreening(t)
		_, _, s1, s2 := twoSessions(t)
		h := mustHold(t, c0, s1.AccessToken, sc.ID, "A1", "A2")
		expect(t, c1.do(t, "POST", "/v1/auth/logout", s1.AccessToken, nil), 204, "")
		released(t, sc.ID, h, s2.AccessToken)
	})

	t.Run("logout-all from another session", func(t *testing.T) {
		sc, sc2 := e.newScreening(t), e.newScreening(t)
		name, pw, s1, s2 := twoSessions(t)
		h1 := mustHold(t, c0, s1.AccessToken, sc.ID, "B1", "B2")
		h2 := mustHold(t, c1, s2.AccessToken, sc2.ID, "B1", "B2", "B3")
		expect(t, c0.do(t, "POST", "/v1/auth/logout-all", s2.AccessToken, nil), 204, "")
		s3 := login(t, c1, name, pw)
		released(t, sc.ID, h1, s3.AccessToken)
		released(t, sc2.ID, h2, s3.AccessToken)
	})

	t.Run("DELETE /v1/sessions/{id}", func(t *testing.T) {
		sc := e.newScreening(t)
		_, _, s1, s2 := twoSessions(t)
		h := mustHold(t, c1, s1.AccessToken, sc.ID, "C3", "C4")
		expect(t, c0.do(t, "DELETE", "/v1/sessions/"+s1.SessionID, s2.AccessToken, nil), 204, "")
		expect(t, c1.do(t, "GET", "/v1/session", s1.AccessToken, nil), 401, "")
		released(t, sc.ID, h, s2.AccessToken)
	})

	t.Run("an administrator's revocation", func(t *testing.T) {
		sc := e.newScreening(t)
		_, _, s1, s2 := twoSessions(t)
		h := mustHold(t, c1, s1.AccessToken, sc.ID, "D3", "D4", "D5")
		expect(t, c0.do(t, "DELETE", "/v1/admin/users/"+s1.Session.UserID+"/sessions/"+s1.SessionID, e.admin, nil), 204, "")
		released(t, sc.ID, h, s2.AccessToken)
	})

	t.Run("refresh-token reuse", func(t *testing.T) {
		sc := e.newScreening(t)
		_, _, s1, s2 := twoSessions(t)
		h := mustHold(t, c0, s1.AccessToken, sc.ID, "A5", "A6")
		r := c1.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": s1.RefreshToken})
		expect(t, r, 200, "")
		var next tokens
		r.decode(t, &next)
		if next.SessionID != s1.SessionID {
			t.Fatalf("refresh moved the session from %s to %s", s1.SessionID, next.SessionID)
		}
		if got := getHold(t, c1, next.AccessToken, h.ID); got.Status != "active" {
			t.Fatalf("a refresh changed the session's hold to %s", got.Status)
		}
		// The spent token again: reuse (the grace window is 0 s; should the server still count
		// the same instant as inside it, it answers with the successor and we ask again).
		deadline := time.Now().Add(guard)
		for {
			r = c0.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": s1.RefreshToken})
			if r.status != 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a spent refresh token was never treated as reused")
			}
			time.Sleep(20 * time.Millisecond)
		}
		expect(t, r, 401, "refresh_token_reused")
		expect(t, c1.do(t, "GET", "/v1/session", next.AccessToken, nil), 401, "")
		released(t, sc.ID, h, s2.AccessToken)
	})

	t.Run("a password change releases the other sessions' holds, not the caller's", func(t *testing.T) {
		sc, sc2 := e.newScreening(t), e.newScreening(t)
		_, pw, s1, s2 := twoSessions(t)
		mine := mustHold(t, c0, s1.AccessToken, sc.ID, "E1", "E2")
		theirs := mustHold(t, c1, s2.AccessToken, sc2.ID, "E1", "E2")
		r := c1.do(t, "POST", "/v1/auth/password", s1.AccessToken, map[string]string{"current_password": pw, "new_password": pw + "-changed"})
		expect(t, r, 200, "")
		var moved tokens
		r.decode(t, &moved)
		released(t, sc2.ID, theirs, moved.AccessToken)
		if got := getHold(t, c0, moved.AccessToken, mine.ID); got.Status != "active" {
			t.Fatalf("the caller's hold reads %s after its password change, want active", got.Status)
		}
		seatsAre(t, seatMap(t, c1, sc.ID), "held", mine.SeatIDs...)
		expect(t, c0.do(t, "DELETE", "/v1/holds/"+mine.ID, moved.AccessToken, nil), 204, "") // still the caller's
	})

	t.Run("another session's logout keeps this session's hold", func(t *testing.T) {
		sc := e.newScreening(t)
		_, _, s1, s2 := twoSessions(t)
		h := mustHold(t, c0, s1.AccessToken, sc.ID, "B5", "B6")
		expect(t, c1.do(t, "POST", "/v1/auth/logout", s2.AccessToken, nil), 204, "")
		if got := getHold(t, c1, s1.AccessToken, h.ID); got.Status != "active" {
			t.Fatalf("S1's hold reads %s after S2 logged out", got.Status)
		}
		// Let the janitor look at every session with holds at least once since that logout:
		// a marker session vanishes from Redis (as when evicted) after it; the janitor alone
		// releases the marker's hold, in a round that also saw S1's.
		_, _, m1, m2 := twoSessions(t)
		mh := mustHold(t, c1, m1.AccessToken, sc.ID, "C7", "C8")
		rdb := redisClient(t, e.redis)
		if err := rdb.Del(context.Background(), sessionKey(m1.Session.UserID, m1.SessionID)).Err(); err != nil {
			t.Fatal(err)
		}
		released(t, sc.ID, mh, m2.AccessToken)
		if got := getHold(t, c0, s1.AccessToken, h.ID); got.Status != "active" {
			t.Fatalf("S1's hold reads %s after S2 logged out and the janitor ran", got.Status)
		}
		seatsAre(t, seatMap(t, c1, sc.ID), "held", "B5", "B6")
		if live, _ := liveHolds(context.Background(), e.db, sc.ID); !live[h.ID] {
			t.Fatalf("S1's hold %s is not live in the database (live: %v)", h.ID, sortedKeys(live))
		}
	})
}
