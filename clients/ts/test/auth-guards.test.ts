// auth(): what the bearer-session middleware must never do — replay a request with another
// user's token, hand one session's tokens to another, let a refresh retry outlive the server's
// grace window, lose the session a password change moved to, send the token to another origin,
// follow a redirect with a password or a token, deadlock when onTokens calls back. Against real
// servers (.ci/run starts them; see test/helpers.ts); faults are injected only between the client
// and the server, and races are made by holding a request in the fetch until the test lets it go.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import createClient from "openapi-fetch";
import {
  auth,
  AuthError,
  createBoxofficeClient,
  DEFAULT_BASE_URL,
  SessionEndedError,
  type Auth,
  type paths,
  type Tokens,
} from "../src/index.js";
import {
  baseUrl,
  expired,
  latch,
  listen,
  metricsUrl,
  needs,
  nextTurn,
  password,
  pathOf,
  recorder,
  refreshCounts,
  shortUrl,
  signedIn,
  userOf,
  type Fetch,
} from "./helpers.js";

/** The 503 an instance that cannot reach Redis answers, made by the test (no rotation happens). */
function unavailable(retryAfter: string) {
  const problem = { type: "urn:boxoffice:problem:service_unavailable", title: "Service unavailable", status: 503, code: "service_unavailable" };
  return Response.json(problem, { status: 503, headers: { "Retry-After": retryAfter, "Content-Type": "application/problem+json" } });
}

test("a request sent before another user signed in gets its 401 token_expired as is, not a retry as that user", { timeout: 60_000 }, async (t) => {
  if (!needs(t, shortUrl, "BOXOFFICE_SHORT_URL")) return; // 1-second access tokens
  const [a, b] = await Promise.all([userOf(shortUrl, "gen-a"), userOf(shortUrl, "gen-b")]);
  let hold = false;
  const reached = latch();
  const released = latch();
  const rec = recorder(async (request) => {
    if (hold && pathOf(request) === "/v1/me") {
      hold = false;
      reached.open();
      await released.opened;
    }
    return fetch(request);
  });
  const changes: (Tokens | undefined)[] = [];
  const session = auth({ baseUrl: shortUrl, fetch: rec.fetch, onTokens: (x) => void changes.push(x) });
  const api = createBoxofficeClient(shortUrl, { fetch: rec.fetch, auth: session });
  await session.login({ username: a, password });

  hold = true;
  const me = api.GET("/v1/me");
  await reached.opened; // on its way with A's token
  const sentAs = rec.log.at(-1);
  assert.ok(sentAs?.path === "/v1/me" && sentAs.authorization);
  const tokenA = sentAs.authorization.slice("Bearer ".length);
  await expired(shortUrl, tokenA);
  const grantB = await session.login({ username: b, password }); // no logout: a sign-in replaces A
  const sentBefore = rec.log.length;
  released.open();
  const r = await me;

  assert.equal(r.response.status, 401, `answered ${r.response.status} as ${r.data?.username}`);
  assert.equal(r.error?.code, "token_expired");
  assert.deepEqual(
    rec.log.slice(sentBefore).map((s) => `${s.method} ${s.path}`),
    [],
    "no refresh, no retry with B's token",
  );
  assert.equal(rec.log.filter((s) => s.path === "/v1/me").length, 1);
  assert.equal(session.tokens()?.accessToken, grantB.access_token, "B stays signed in");
  assert.ok(!changes.includes(undefined));
  const asB = await api.GET("/v1/me");
  assert.equal(asB.response.status, 200, JSON.stringify(asB.error));
  assert.equal(asB.data?.username, b);
});

test("requests waiting for a refresh get neither its tokens nor a sign-in's made meanwhile", { timeout: 30_000 }, async () => {
  const [a, b] = await Promise.all([userOf(baseUrl), userOf(baseUrl, "gen-b")]);
  let offset = 0; // the client's clock runs `offset` ms ahead
  let hold = false;
  const reached = latch();
  const released = latch();
  const rec = recorder(async (request) => {
    if (hold && pathOf(request) === "/v1/auth/refresh") {
      hold = false;
      reached.open();
      await released.opened;
    }
    return fetch(request);
  });
  const changes: (Tokens | undefined)[] = [];
  const session = auth({ baseUrl, fetch: rec.fetch, now: () => Date.now() + offset, onTokens: (x) => void changes.push(x) });
  const api = createBoxofficeClient(baseUrl, { fetch: rec.fetch, auth: session });
  const grantA = await session.login({ username: a, password });

  hold = true;
  offset = grantA.expires_in * 1000; // A's token falls due: the next request refreshes it first
  const me = api.GET("/v1/me");
  await reached.opened; // A's refresh is on its way; the request waits for it
  const refreshing = session.refresh(); // joins it
  const grantB = await session.login({ username: b, password });
  released.open();
  const [meResult, refreshResult] = await Promise.allSettled([me, refreshing]);

  for (const result of [meResult, refreshResult]) {
    assert.equal(result.status, "rejected", `fulfilled: ${JSON.stringify(result.status === "fulfilled" && result.value)}`);
    assert.ok(result.reason instanceof AuthError && !(result.reason instanceof SessionEndedError), String(result.reason));
  }
  assert.deepEqual(
    rec.log.filter((s) => s.path === "/v1/me"),
    [],
    "the request that waited for A's refresh was not sent (with B's token or any)",
  );
  assert.equal(rec.refreshes()[0]?.status, 200, "A's refresh got its answer, which was dropped");
  assert.equal(session.tokens()?.accessToken, grantB.access_token);
  assert.deepEqual(
    changes.map((x) => x?.accessToken),
    [grantA.access_token, grantB.access_token],
    "onTokens never got A's refreshed tokens after B signed in",
  );
  const asB = await api.GET("/v1/me");
  assert.equal(asB.data?.username, b);
});

test("a refresh attempt that gets no answer is abandoned after refreshTimeoutMs and retried with the same token", { timeout: 30_000 }, async (t) => {
  let applied: number | undefined; // the status of the answer that has not reached the client
  let held = false;
  const released = latch();
  t.after(released.open);
  const { rec, session, api } = await signedIn(baseUrl, {
    fetch: async (request) => {
      if (pathOf(request) === "/v1/auth/refresh" && applied === undefined) {
        // The server rotates the token; its answer is held until the test ends.
        const response = await fetch(request);
        applied = response.status;
        held = true;
        await released.opened;
        held = false;
        return response;
      }
      return fetch(request);
    },
  });
  const first = session.tokens();
  assert.ok(first);
  const before = metricsUrl ? await refreshCounts(metricsUrl) : undefined;

  const second = await session.refresh();
  assert.equal(applied, 200, "the first attempt reached the server, which rotated the token");
  assert.ok(held, "its answer is still held: the client stopped waiting for it");
  const [a, b, ...more] = rec.refreshes();
  assert.ok(a && b && more.length === 0, "the abandoned attempt and one retry");
  assert.equal(a.token, first.refreshToken);
  assert.equal(b.token, first.refreshToken, "the retry sent the same refresh token");
  assert.equal(b.status, 200, "the grace window answered the retry");
  assert.ok(b.at - a.at >= 2900, `the default timeout is 3 s (${b.at - a.at} ms)`);
  assert.notEqual(second.refreshToken, first.refreshToken);
  if (needs(t, metricsUrl, "BOXOFFICE_METRICS_URL") && before) {
    const after = await refreshCounts(metricsUrl);
    assert.equal(after.requests - before.requests, 2, "both attempts reached the server");
    assert.equal(after.reuse, before.reuse, "no reuse was detected");
  }
  const ok = await api.GET("/v1/session");
  assert.equal(ok.response.status, 200, JSON.stringify(ok.error));
});

/**
 * A refresh whose first attempt is applied by the server but its answer lost, then answered 503
 * with `retryAfter` by the fault layer (not the server) up to the third attempt; later attempts
 * reach the server (a fourth one 10 s after the first would be taken for a stolen token).
 */
async function lostThenUnavailable(t: TestContext, retryAfter: string) {
  let n = 0;
  let applied: number | undefined;
  const fetchWithFaults: Fetch = async (request) => {
    if (pathOf(request) !== "/v1/auth/refresh") return fetch(request);
    n++;
    if (n === 1) {
      const response = await fetch(request);
      applied = response.status;
      await response.arrayBuffer();
      throw new TypeError("fetch failed (the test dropped the answer)");
    }
    if (n <= 3) return unavailable(retryAfter);
    return fetch(request);
  };
  const { rec, session, changes } = await signedIn(baseUrl, { fetch: fetchWithFaults });
  const kept = session.tokens();
  assert.ok(kept);
  const before = metricsUrl ? await refreshCounts(metricsUrl) : undefined;

  await assert.rejects(session.refresh(), (err) => {
    assert.ok(err instanceof AuthError && !(err instanceof SessionEndedError), String(err));
    assert.equal(err.status, 503);
    assert.equal(err.code, "service_unavailable");
    return true;
  });
  assert.equal(applied, 200);
  assert.deepEqual(session.tokens(), kept, "the tokens are kept");
  assert.deepEqual(changes, [kept]);
  const refreshes = rec.refreshes();
  assert.ok(refreshes.every((r) => r.token === kept.refreshToken));
  const span = (refreshes.at(-1)?.at ?? 0) - (refreshes[0]?.at ?? 0);
  assert.ok(span < 8000, `every attempt within the budget, 8 s after the first (${span} ms)`);
  if (needs(t, metricsUrl, "BOXOFFICE_METRICS_URL") && before) {
    const after = await refreshCounts(metricsUrl);
    assert.equal(after.requests - before.requests, 1, "only the first attempt reached the server");
    assert.equal(after.reuse, before.reuse, "no reuse was detected");
  }
  // The session lives on: its access token is still accepted.
  const probe = await fetch(`${baseUrl}/v1/session`, { headers: { Authorization: `Bearer ${kept.accessToken}` } });
  assert.equal(probe.status, 200, await probe.text());
  return refreshes;
}

test("a Retry-After that ends past the refresh budget ends the refresh: AuthError, tokens kept, session alive", { timeout: 30_000 }, async (t) => {
  const refreshes = await lostThenUnavailable(t, "15");
  assert.deepEqual(
    refreshes.map((r) => r.status),
    [undefined, 503],
    "the lost attempt and one answered Retry-After: 15; no third",
  );
});

test("refresh retries stop once the budget (80 % of the 10 s grace window) is spent", { timeout: 30_000 }, async (t) => {
  // The first attempt (its answer lost) takes up to its 3 s timeout, then a 0.25 s wait, then
  // Retry-After 4 s: the third attempt goes 4.25 to 7.25 s after the first, within the 8 s
  // budget however slow the machine; a fourth would go 4 s later still, past it (and past the
  // grace window of the first attempt).
  const refreshes = await lostThenUnavailable(t, "4");
  assert.deepEqual(refreshes.map((r) => r.status), [undefined, 503, 503]);
});

test("refreshGraceSeconds 0 (a server without a grace window): a failed refresh is not retried", async () => {
  const down: Fetch = async () => {
    throw new TypeError("fetch failed (the test's network is down)");
  };
  const tokens: Tokens = { accessToken: "not-a-token", refreshToken: "bxr_not-a-token", expiresAt: Date.now() + 3600_000 };
  for (const [grace, sent] of [
    [0, 1],
    [10, 4],
  ] as const) {
    const rec = recorder(down);
    const session = auth({ baseUrl, tokens, fetch: rec.fetch, refreshGraceSeconds: grace, maxRetryDelayMs: 50 });
    await assert.rejects(session.refresh(), (err) => err instanceof AuthError && err.cause instanceof TypeError);
    assert.equal(rec.refreshes().length, sent, `refreshGraceSeconds ${grace}: attempts`);
    assert.deepEqual(session.tokens(), tokens);
  }
});

test("a password change and a logout retried after 401 token_expired: their answers are read too", { timeout: 60_000 }, async (t) => {
  if (!needs(t, shortUrl, "BOXOFFICE_SHORT_URL")) return; // 1-second access tokens
  const signIn = async (username: string) => {
    const s = auth({ baseUrl: shortUrl });
    await s.login({ username, password });
    const tokens = s.tokens();
    assert.ok(tokens);
    return tokens;
  };
  const [forChange, forLogout] = await Promise.all([signIn(await userOf(shortUrl, "pw-retry")), signIn(await userOf(shortUrl))]);
  await expired(shortUrl, forChange.accessToken);
  await expired(shortUrl, forLogout.accessToken);
  // Resumed with a clock that believes the tokens live an hour: the server's 401 is what makes the refresh.
  const resume = (tokens: Tokens) => {
    const rec = recorder();
    const changes: (Tokens | undefined)[] = [];
    const session = auth({ baseUrl: shortUrl, tokens: { ...tokens, expiresAt: Date.now() + 3600_000 }, fetch: rec.fetch, onTokens: (x) => void changes.push(x) });
    return { rec, changes, session, api: createBoxofficeClient(shortUrl, { fetch: rec.fetch, auth: session }) };
  };

  const c = resume(forChange);
  const changed = await c.api.POST("/v1/auth/password", { body: { current_password: password, new_password: "another-typescript-password" } });
  assert.equal(changed.response.status, 200, JSON.stringify(changed.error));
  assert.ok(changed.data?.transport === "bearer");
  assert.deepEqual(
    c.rec.log.map((s) => `${s.method} ${s.path} ${s.status}`),
    ["POST /v1/auth/password 401", "POST /v1/auth/refresh 200", "POST /v1/auth/password 200"],
  );
  assert.equal(c.session.tokens()?.accessToken, changed.data.access_token, "the client moved to the new session");
  assert.equal(c.session.tokens()?.refreshToken, changed.data.refresh_token);
  assert.equal(c.changes.length, 2, "onTokens: the refresh, then the password change's grant");
  assert.equal(c.changes[1]?.refreshToken, changed.data.refresh_token);
  const moved = await c.api.GET("/v1/session");
  assert.equal(moved.response.status, 200, JSON.stringify(moved.error));
  assert.equal(moved.data?.id, changed.data.session_id);
  assert.ok(!c.changes.includes(undefined), "never signed out");

  const l = resume(forLogout);
  const out = await l.api.POST("/v1/auth/logout");
  assert.equal(out.response.status, 204);
  assert.deepEqual(
    l.rec.log.map((s) => `${s.method} ${s.path} ${s.status}`),
    ["POST /v1/auth/logout 401", "POST /v1/auth/refresh 200", "POST /v1/auth/logout 204"],
  );
  const refreshed = l.changes[0];
  assert.ok(refreshed);
  assert.equal(l.session.tokens(), undefined, "the retried logout's 204 signed the client out");
  assert.deepEqual(l.changes, [refreshed, undefined]);
  const probe = await fetch(`${shortUrl}/v1/session`, { headers: { Authorization: `Bearer ${refreshed.accessToken}` } });
  assert.match(await probe.text(), /"code":"session_revoked"/);
});

test("a refresh asked for while a password change is applied waits for it, and is not told the session ended", { timeout: 30_000 }, async () => {
  let holdAnswer = true;
  const applied = latch();
  const released = latch();
  const { rec, changes, session, api, grant } = await signedIn(
    baseUrl,
    {
      fetch: async (request) => {
        const response = await fetch(request);
        if (holdAnswer && pathOf(request) === "/v1/auth/password") {
          holdAnswer = false;
          applied.open();
          await released.opened;
        }
        return response;
      },
    },
    "pw-hold",
  );
  const changing = api.POST("/v1/auth/password", { body: { current_password: password, new_password: "another-typescript-password" } });
  await applied.opened; // the server moved the session (the old one is revoked); its answer is held
  const refreshing = session.refresh();
  released.open();
  const [changed, refreshed] = await Promise.allSettled([changing, refreshing]);

  assert.ok(changed.status === "fulfilled" && changed.value.data?.transport === "bearer", "the password change went through");
  const moved = changed.value.data;
  assert.ok(refreshed.status === "fulfilled", `the refresh failed: ${refreshed.status === "rejected" && refreshed.reason}`);
  assert.equal(refreshed.value.refreshToken, moved.refresh_token, "it waited for the change and answered its tokens");
  assert.deepEqual(rec.refreshes(), [], "the old session's refresh token was not sent");
  assert.deepEqual(
    changes.map((x) => x?.refreshToken),
    [grant.refresh_token, moved.refresh_token],
    "never signed out",
  );
  // The next refresh spends the new session's token.
  const next = await session.refresh();
  assert.deepEqual(
    rec.refreshes().map((r) => `${r.token === moved.refresh_token} ${r.status}`),
    ["true 200"],
  );
  const current = await api.GET("/v1/session");
  assert.equal(current.data?.id, moved.session_id);
  assert.equal(rec.log.at(-1)?.authorization, `Bearer ${next.accessToken}`);
});

test("a password change waits for the refresh in flight, then goes with its token", { timeout: 30_000 }, async () => {
  let hold = false;
  const reached = latch();
  const released = latch();
  const { rec, changes, session, api, grant } = await signedIn(
    baseUrl,
    {
      fetch: async (request) => {
        if (hold && pathOf(request) === "/v1/auth/refresh") {
          hold = false;
          reached.open();
          await released.opened;
        }
        return fetch(request);
      },
    },
    "pw-wait",
  );
  hold = true;
  const refreshing = session.refresh();
  await reached.opened;
  const changing = api.POST("/v1/auth/password", { body: { current_password: password, new_password: "another-typescript-password" } });
  await nextTurn();
  await nextTurn();
  assert.equal(rec.log.filter((s) => s.path === "/v1/auth/password").length, 0, "not sent while the refresh is in flight");
  released.open();
  const [refreshed, changed] = await Promise.allSettled([refreshing, changing]);

  assert.ok(refreshed.status === "fulfilled", `the refresh failed: ${refreshed.status === "rejected" && refreshed.reason}`);
  assert.ok(changed.status === "fulfilled" && changed.value.data?.transport === "bearer", "the password change went through");
  const moved = changed.value.data;
  assert.deepEqual(
    rec.log.slice(1).map((s) => `${s.method} ${s.path} ${s.status}`),
    ["POST /v1/auth/refresh 200", "POST /v1/auth/password 200"],
  );
  assert.equal(rec.log.at(-1)?.authorization, `Bearer ${refreshed.value.accessToken}`);
  assert.deepEqual(
    changes.map((x) => x?.refreshToken),
    [grant.refresh_token, refreshed.value.refreshToken, moved.refresh_token],
  );
  assert.equal(session.tokens()?.refreshToken, moved.refresh_token);
  const current = await api.GET("/v1/session");
  assert.equal(current.data?.id, moved.session_id);
});

test("the token goes only to the origin of auth()'s baseUrl", async (t) => {
  const seen: (string | null)[] = [];
  const elsewhere = await listen(t, (req, res) => {
    seen.push(req.headers.authorization ?? null);
    res.writeHead(404, { "Content-Type": "application/problem+json" }).end("{}");
  });
  const { rec, session, api } = await signedIn(baseUrl);

  // A per-request baseUrl on the client.
  const other = await api.GET("/v1/session", { baseUrl: elsewhere });
  assert.equal(other.response.status, 404);
  assert.equal(rec.log.at(-1)?.authorization, null);
  // A client of openapi-fetch's own, for another server, with the middleware.
  const raw = createClient<paths>({ baseUrl: elsewhere, fetch: rec.fetch });
  raw.use(session.middleware);
  await raw.GET("/v1/me");
  assert.deepEqual(seen, [null, null], "the other server never saw the token");
  // The API's origin still gets it.
  const mine = await api.GET("/v1/session");
  assert.equal(mine.response.status, 200, JSON.stringify(mine.error));
  assert.equal(rec.log.at(-1)?.authorization, `Bearer ${session.tokens()?.accessToken}`);

  assert.throws(() => createBoxofficeClient(elsewhere, { auth: session }), TypeError);
  if (new URL(baseUrl).origin !== new URL(DEFAULT_BASE_URL).origin) {
    assert.throws(() => createBoxofficeClient(undefined, { auth: session }), TypeError, "the default base URL is another origin");
  }
  createBoxofficeClient(`${baseUrl}/`, { auth: session }); // the same origin: allowed
  assert.equal(session.baseUrl, baseUrl);
});

test("sign-in, refresh, logout and an authenticated client never follow a redirect nor send cookies", async (t) => {
  const { rec, session, api } = await signedIn(baseUrl);
  assert.equal((await api.GET("/v1/session")).response.status, 200);
  await session.refresh();
  await session.logout();
  assert.deepEqual(
    rec.log.map((s) => `${s.method} ${s.path} ${s.redirect} ${s.credentials}`),
    [
      "POST /v1/auth/login error omit",
      "GET /v1/session error omit",
      "POST /v1/auth/refresh error omit",
      "POST /v1/auth/logout error omit",
    ],
  );

  // A server that redirects the sign-in to the API (307 keeps the method and the body): the
  // password is not sent on.
  const redirector = await listen(t, (req, res) => {
    res.writeHead(307, { Location: `${baseUrl}${req.url}` }).end();
  });
  const moved = recorder();
  const elsewhere = auth({ baseUrl: redirector, fetch: moved.fetch });
  await assert.rejects(elsewhere.login({ username: await userOf(baseUrl), password }), TypeError);
  assert.equal(elsewhere.tokens(), undefined);
});

test("onTokens may call session.refresh(), logout() and login() and they settle", { timeout: 30_000 }, async () => {
  const username = await userOf(baseUrl);
  const rec = recorder();
  let then: "refresh" | "logout" | "login" | undefined; // what the next onTokens does
  const inner: (Tokens | undefined)[] = [];
  const changes: (Tokens | undefined)[] = [];
  const session: Auth = auth({
    baseUrl,
    fetch: rec.fetch,
    onTokens: async (tokens) => {
      changes.push(tokens);
      const what = then;
      then = undefined;
      if (what === "refresh") inner.push(await session.refresh());
      if (what === "logout") await session.logout();
      if (what === "login") {
        await session.login({ username, password });
        inner.push(session.tokens());
      }
    },
  });
  await session.login({ username, password });

  then = "refresh";
  const second = await session.refresh();
  assert.equal(inner[0], second, "the refresh inside onTokens answered the tokens being given to it");
  assert.equal(session.tokens(), second);
  assert.equal(rec.refreshes().length, 1, "one refresh");

  then = "logout"; // a refresh whose onTokens signs out
  await assert.rejects(session.refresh(), (err) => err instanceof AuthError && !(err instanceof SessionEndedError));
  assert.equal(session.tokens(), undefined);
  assert.equal(changes.at(-1), undefined);

  await session.login({ username, password });
  then = "login"; // a logout whose onTokens(undefined) signs in again
  await session.logout();
  assert.ok(inner[1]);
  assert.equal(session.tokens(), inner[1], "the sign-in made by onTokens stands");
  const ok = await createBoxofficeClient(baseUrl, { auth: session }).GET("/v1/session");
  assert.equal(ok.response.status, 200, JSON.stringify(ok.error));
});
