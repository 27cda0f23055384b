// auth(): a password change holds refreshes for as long as it is in fetch, an authenticated
// client follows no redirect, a refresh token is not sent again once its budget is spent, and
// overlapping onTokens calls end with the current tokens stored. Against the servers .ci/run
// starts (see test/helpers.ts); races are made by holding a request in the fetch (latches).
import assert from "node:assert/strict";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { test, type TestContext } from "node:test";
import { auth, AuthError, createBoxofficeClient, SessionEndedError, type Tokens } from "../src/index.js";
import { baseUrl, latch, password, recorder, signedIn, userOf, type Fetch } from "./helpers.js";

const pathOf = (request: Request) => new URL(request.url).pathname;

/** A server of the test's own on a loopback port (another origin than the API's), closed after the test. */
async function listen(t: TestContext, handler: RequestListener) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

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

test("a refresh token is not sent again once its budget is spent: AuthError, tokens kept", async () => {
  const down: Fetch = async () => {
    throw new TypeError("fetch failed (the test's network is down)");
  };
  const tokens: Tokens = { accessToken: "not-a-token", refreshToken: "bxr_not-a-token", expiresAt: Date.now() + 3600_000 };

  // refreshGraceSeconds 0: the budget is spent once the token is sent.
  const rec = recorder(down);
  const spent = auth({ baseUrl, tokens, fetch: rec.fetch, refreshGraceSeconds: 0 });
  await assert.rejects(spent.refresh(), (err) => err instanceof AuthError && err.cause instanceof TypeError);
  assert.equal(rec.refreshes().length, 1);
  await assert.rejects(spent.refresh(), (err) => {
    assert.ok(err instanceof AuthError && !(err instanceof SessionEndedError), String(err));
    assert.match(err.message, /budget/);
    return true;
  });
  assert.equal(rec.refreshes().length, 1, "the second refresh did not send the token again");
  assert.deepEqual(spent.tokens(), tokens, "the tokens are kept");

  // Within the budget (8 s of a 10 s grace window), a later refresh may send it again.
  const within = recorder(down);
  const fresh = auth({ baseUrl, tokens, fetch: within.fetch, refreshAttempts: 1 });
  await assert.rejects(fresh.refresh(), (err) => err instanceof AuthError && err.cause instanceof TypeError);
  await assert.rejects(fresh.refresh(), (err) => err instanceof AuthError && err.cause instanceof TypeError);
  assert.equal(within.refreshes().length, 2);
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
