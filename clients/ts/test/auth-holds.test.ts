// auth(): a password change holds refreshes for as long as it is in fetch, an authenticated
// client follows no redirect, a refresh that failed fails for its waiters (a later one sends the
// token again), and overlapping onTokens calls end with the current tokens stored. Against the servers .ci/run
// starts (see test/helpers.ts); races are made by holding a request in the fetch (latches).
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { auth, AuthError, createBoxofficeClient, SessionEndedError, type Tokens } from "../src/index.js";
import { baseUrl, latch, listen, password, pathOf, recorder, signedIn, userOf } from "./helpers.js";

test("a password change in fetch holds refreshes past the 30 s release; one a later middleware answered does not", { timeout: 90_000 }, async () => {
  // Session 1: its password change is held in the fetch for longer than the 30 s release.
  const go = latch();
  const reached = latch();
  const one = await signedIn(
    baseUrl,
    {
      fetch: async (request) => {
        if (pathOf(request) === "/v1/auth/password") {
          reached.open();
          await go.opened;
        }
        return fetch(request);
      },
    },
    "pw-long",
  );
  const changing = one.api.POST("/v1/auth/password", { body: { current_password: password, new_password: "another-typescript-password" } });
  await reached.opened;
  const refreshing = one.session.refresh(); // waits for the change

  // Session 2: a middleware registered after auth answers the password change itself (it never
  // reaches fetch, and auth's onResponse never runs): refreshes go once the 30 s release fires.
  const two = await signedIn(baseUrl, {}, "pw-mw");
  two.api.use({ onRequest: ({ schemaPath }) => (schemaPath === "/v1/auth/password" ? Response.json({ answered: "by the test" }, { status: 418 }) : undefined) });
  const answered = await two.api.POST("/v1/auth/password", { body: { current_password: password, new_password: "another-typescript-password" } });
  assert.equal(answered.response.status, 418);
  const released = two.session.refresh();

  await new Promise((resolve) => setTimeout(resolve, 31_000)); // past the 30 s release
  assert.deepEqual(one.rec.refreshes(), [], "no refresh went out while the password change was in fetch");
  const second = await released;
  assert.equal(two.rec.refreshes().length, 1, "the hold of a change that never reached fetch was released");
  assert.equal(second.refreshToken, two.session.tokens()?.refreshToken);

  go.open();
  const changed = await changing;
  assert.equal(changed.response.status, 200, JSON.stringify(changed.error));
  const moved = changed.data;
  assert.ok(moved?.transport === "bearer");
  const refreshed = await refreshing;
  assert.equal(refreshed.refreshToken, moved.refresh_token, "the waiting refresh answered the change's tokens");
  assert.deepEqual(one.rec.refreshes(), [], "the old session's refresh token was never sent");
  assert.deepEqual(
    one.changes.map((x) => x?.refreshToken),
    [one.grant.refresh_token, moved.refresh_token],
  );
  const me = await one.api.GET("/v1/me");
  assert.equal(me.response.status, 200, JSON.stringify(me.error));
  assert.equal(one.session.tokens()?.refreshToken, moved.refresh_token);
});

test("an authenticated client follows no redirect: a 307 carries no password to another origin; a request may still follow", async (t) => {
  const seen: string[] = [];
  const other = await listen(t, (req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? "-"} ${body}`);
      res.writeHead(404).end();
    });
  });
  const redirector = await listen(t, (req, res) => res.writeHead(307, { Location: `${other}${req.url}` }).end());
  const rec = recorder();
  const session = auth({ baseUrl: redirector, fetch: rec.fetch, tokens: { accessToken: "AT-secret", refreshToken: "RT", expiresAt: Date.now() + 3600_000 } });
  const api = createBoxofficeClient(redirector, { auth: session, fetch: rec.fetch });

  await assert.rejects(api.POST("/v1/auth/password", { body: { current_password: "old-secret", new_password: "new-secret" } }), TypeError);
  await assert.rejects(api.POST("/v1/users", { body: { username: "someone", password: "a-secret-password" } }), TypeError);
  await assert.rejects(api.GET("/v1/me"), TypeError);
  assert.deepEqual(seen, [], "nothing reached the other origin");
  assert.deepEqual(
    rec.log.map((s) => `${s.method} ${s.path} ${s.redirect} ${s.credentials}`),
    ["POST /v1/auth/password error omit", "POST /v1/users error omit", "GET /v1/me error omit"],
  );
  assert.deepEqual(session.tokens()?.refreshToken, "RT", "the tokens are kept");

  // The hold of the failed password change was released: a refresh goes (and fails: no such server).
  await assert.rejects(session.refresh(), AuthError);

  // A request may ask for the redirect to be followed (a public one: no token is attached).
  const followed = await api.GET("/v1/movies", { redirect: "follow" });
  assert.equal(followed.response.status, 404);
  assert.deepEqual(seen, ["GET /v1/movies - "]);

  // Without auth, openapi-fetch's default (follow) stands.
  assert.equal((await createBoxofficeClient(redirector).GET("/v1/movies")).response.status, 404);
});

test("a refresh whose budget is spent fails for all its waiters, tokens kept; a later refresh sends the token again", { timeout: 30_000 }, async () => {
  // The network is down for refreshes while `down` is set: they never reach the server. Each
  // refresh attempt waits for `gate` (so that calls can join it) before failing.
  let down = true;
  let gate = latch();
  const refreshSent = latch();
  const changeSent = latch();
  const changeGo = latch();
  const { rec, session, api, grant } = await signedIn(baseUrl, {
    // refreshGraceSeconds 0: the budget is spent once the token is sent (one attempt).
    refreshGraceSeconds: 0,
    fetch: async (request) => {
      const path = pathOf(request);
      if (path === "/v1/auth/refresh" && down) {
        refreshSent.open();
        await gate.opened;
        throw new TypeError("fetch failed (the test's network is down)");
      }
      if (path === "/v1/auth/password") {
        // The change never reaches the server: held, then answered 401 token_expired, so that it
        // makes a refresh of its own while refreshes wait for it.
        changeSent.open();
        await changeGo.opened;
        return Response.json({ code: "token_expired", status: 401, title: "test" }, { status: 401 });
      }
      return fetch(request);
    },
  });
  const isDown = (err: unknown) => err instanceof AuthError && !(err instanceof SessionEndedError) && err.cause instanceof TypeError;

  // Calls that joined a refresh get its failure; none sends the token again.
  const first = session.refresh();
  await refreshSent.opened;
  const joined = [session.refresh(), session.refresh()];
  gate.open();
  const failures = await Promise.allSettled([first, ...joined]);
  for (const f of failures) assert.ok(f.status === "rejected" && isDown(f.reason), String(f.status === "rejected" ? f.reason : f.status));
  assert.equal(rec.refreshes().length, 1, "one refresh sent for the three calls");
  assert.deepEqual(session.tokens()?.refreshToken, grant.refresh_token, "the tokens are kept");

  // Refreshes held by a password change whose own refresh fails get that failure when released.
  gate = latch();
  const changing = api.POST("/v1/auth/password", { body: { current_password: password, new_password: "another-typescript-password" } });
  await changeSent.opened;
  const held = [session.refresh(), session.refresh()]; // wait for the change
  changeGo.open();
  gate.open();
  await assert.rejects(changing, isDown);
  for (const f of await Promise.allSettled(held)) assert.ok(f.status === "rejected" && isDown(f.reason), String(f.status === "rejected" ? f.reason : f.status));
  assert.equal(rec.refreshes().length, 2, "the waiters of the change's failed refresh sent nothing");
  assert.deepEqual(session.tokens()?.refreshToken, grant.refresh_token, "the tokens are kept");

  // A later refresh sends the same token again, with a budget of its own: it reached the server
  // for the first time, so it succeeds.
  down = false;
  const later = await session.refresh();
  const sent = rec.refreshes();
  assert.deepEqual(
    sent.map((r) => r.token),
    [grant.refresh_token, grant.refresh_token, grant.refresh_token],
  );
  assert.equal(sent[2]?.status, 200);
  assert.notEqual(later.refreshToken, grant.refresh_token);
  assert.equal(session.tokens()?.refreshToken, later.refreshToken);
  const me = await api.GET("/v1/me");
  assert.equal(me.response.status, 200, JSON.stringify(me.error));
});

test("overlapping onTokens calls end with the current tokens stored (a sign-in while a refresh's onTokens runs)", { timeout: 30_000 }, async () => {
  const username = await userOf(baseUrl);
  let stored: Tokens | undefined; // what an async storage holds
  const given: (Tokens | undefined)[] = [];
  let holdNext = false;
  const entered = latch();
  const go = latch();
  const session = auth({
    baseUrl,
    onTokens: async (tokens) => {
      given.push(tokens);
      if (holdNext) {
        holdNext = false;
        entered.open();
        await go.opened; // a slow write
      }
      stored = tokens;
    },
  });
  await session.login({ username, password });
  holdNext = true;
  const refreshing = session.refresh();
  await entered.opened; // the refresh's tokens are being stored
  const refreshed = given.at(-1);
  await session.login({ username, password }); // a new sign-in, stored at once
  const signedInAgain = session.tokens();
  assert.ok(signedInAgain && refreshed && signedInAgain !== refreshed);
  assert.equal(stored, signedInAgain);
  go.open(); // the refresh's write ends last
  await assert.rejects(refreshing, AuthError); // signed in again during the refresh
  assert.equal(stored, signedInAgain, "the sign-in's tokens are stored last");
  assert.equal(given.at(-1), signedInAgain);
  assert.equal(session.tokens(), signedInAgain);
});
