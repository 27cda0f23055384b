// auth(): the bearer-session middleware, against real servers (.ci/run starts them; see
// test/helpers.ts for the variables). Faults are injected only between the client and the server
// (a fetch that loses an answer or answers 503 itself); the server is never faked.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  auth,
  AuthError,
  createBoxofficeClient,
  DEFAULT_BASE_URL,
  PUBLIC_OPERATIONS,
  SessionEndedError,
  type Tokens,
} from "../src/index.js";
import { baseUrl, expired, metricsUrl, needs, password, recorder, refreshCounts, shortUrl, signedIn } from "./helpers.js";

test("the public operations and the default base URL are the server's", async () => {
  // A type for the parts of the document read here; the document is the server's own.
  type Doc = {
    servers: { url: string }[];
    paths: Record<string, Record<string, { operationId?: string; security?: Record<string, string[]>[] }>>;
  };
  const res = await fetch(`${baseUrl}/openapi.json`);
  assert.equal(res.status, 200);
  const doc: Doc = await res.json();
  assert.equal(doc.servers[0]?.url, DEFAULT_BASE_URL);
  const open: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!op.operationId) continue; // "parameters" and the like
      assert.ok(op.security, `${method} ${path} states its security`);
      if (op.security.length === 0) open.push(`${method.toUpperCase()} ${path}`);
      else assert.deepEqual(op.security, [{ bearerAuth: [] }], `${method} ${path}: bearerAuth only`);
    }
  }
  assert.deepEqual([...PUBLIC_OPERATIONS].sort(), open.sort());
});

test("login, session, patch with If-Match, ten concurrent requests share one refresh, logout", async (t) => {
  let offset = 0; // the client's clock runs `offset` ms ahead
  const { rec, changes, session, api, grant } = await signedIn(baseUrl, { now: () => Date.now() + offset });
  assert.equal(grant.transport, "bearer");
  assert.match(grant.refresh_token, /^bxr_/);
  const first = session.tokens();
  assert.ok(first);
  assert.equal(first.accessToken, grant.access_token);
  assert.deepEqual(changes, [first], "onTokens got the sign-in's tokens");

  const current = await api.GET("/v1/session");
  assert.equal(current.response.status, 200, JSON.stringify(current.error));
  assert.equal(current.data?.id, grant.session_id);
  const etag = current.response.headers.get("ETag");
  assert.equal(etag, '"0"');
  assert.equal(rec.log.at(-1)?.authorization, `Bearer ${first.accessToken}`);

  const patched = await api.PATCH("/v1/session/data", {
    params: { header: { "If-Match": etag } },
    body: { cart: { show: 42, seats: ["F7", "F8"] }, theme: "dark" },
    headers: { "Content-Type": "application/merge-patch+json" },
  });
  assert.equal(patched.response.status, 200, JSON.stringify(patched.error));
  assert.equal(rec.log.at(-1)?.contentType, "application/merge-patch+json");
  assert.deepEqual(patched.data?.data, { cart: { show: 42, seats: ["F7", "F8"] }, theme: "dark" });
  assert.equal(patched.response.headers.get("ETag"), '"1"');
  const stale = await api.PATCH("/v1/session/data", {
    params: { header: { "If-Match": etag } },
    body: { theme: "light" },
    headers: { "Content-Type": "application/merge-patch+json" },
  });
  assert.equal(stale.response.status, 412);
  assert.equal(stale.error?.code, "precondition_failed");

  // The access token falls due (the clock jumps to its expiry): ten requests at once, one refresh.
  const before = metricsUrl ? await refreshCounts(metricsUrl) : undefined;
  const sentBefore = rec.log.length;
  offset = grant.expires_in * 1000;
  const all = await Promise.all(Array.from({ length: 10 }, () => api.GET("/v1/session")));
  for (const r of all) assert.equal(r.response.status, 200, JSON.stringify(r.error));
  const refreshes = rec.refreshes();
  assert.equal(refreshes.length, 1, "exactly one POST /v1/auth/refresh left the client");
  assert.equal(refreshes[0]?.token, first.refreshToken);
  assert.equal(refreshes[0]?.status, 200);
  const second = session.tokens();
  assert.ok(second);
  assert.notEqual(second.accessToken, first.accessToken);
  assert.notEqual(second.refreshToken, first.refreshToken);
  assert.deepEqual(changes, [first, second]);
  const gets = rec.log.slice(sentBefore).filter((s) => s.method === "GET");
  assert.equal(gets.length, 10);
  for (const s of gets) assert.equal(s.authorization, `Bearer ${second.accessToken}`, "every request waited for the refresh");
  if (needs(t, metricsUrl, "BOXOFFICE_METRICS_URL") && before) {
    const after = await refreshCounts(metricsUrl);
    assert.equal(after.requests - before.requests, 1, "exactly one refresh reached the server");
    assert.equal(after.operations - before.operations, 1);
  }

  // Sign out: the tokens are forgotten, the next call carries none, and the old token is revoked.
  await session.logout();
  assert.equal(session.tokens(), undefined);
  assert.deepEqual(changes, [first, second, undefined]);
  assert.equal(rec.log.at(-1)?.path, "/v1/auth/logout");
  assert.equal(rec.log.at(-1)?.status, 204);
  const anonymous = await api.GET("/v1/session");
  assert.equal(anonymous.response.status, 401);
  assert.equal(anonymous.error?.code, "missing_token");
  assert.equal(rec.log.at(-1)?.authorization, null);

  // Another holder of the same tokens (a second tab, a restored copy) learns the session is over.
  const elsewhereChanges: (Tokens | undefined)[] = [];
  const elsewhere = auth({ baseUrl, tokens: second, onTokens: (x) => void elsewhereChanges.push(x) });
  const revoked = await createBoxofficeClient(baseUrl, { auth: elsewhere }).GET("/v1/session");
  assert.equal(revoked.response.status, 401);
  assert.equal(revoked.error?.code, "session_revoked");
  assert.equal(elsewhere.tokens(), undefined);
  assert.deepEqual(elsewhereChanges, [undefined]);
  // Its refresh token is refused too: a typed error carrying the problem, the tokens cleared.
  const storedChanges: (Tokens | undefined)[] = [];
  const stored = auth({ baseUrl, tokens: second, onTokens: (x) => void storedChanges.push(x) });
  await assert.rejects(stored.refresh(), (err) => {
    assert.ok(err instanceof SessionEndedError);
    assert.equal(err.problem.code, "session_revoked");
    assert.equal(err.problem.status, 401);
    return true;
  });
  assert.equal(stored.tokens(), undefined);
  assert.deepEqual(storedChanges, [undefined]);

  for (const s of rec.log) assert.equal(s.cookie, null, `${s.method} ${s.path} sent no Cookie header`);
});

test("a due token of an ended session does not stand in the way of signing in again", async () => {
  const { session, api, username } = await signedIn(baseUrl);
  const ended = session.tokens();
  assert.ok(ended);
  await session.logout();
  const rec = recorder();
  const resumed = auth({ baseUrl, tokens: { ...ended, expiresAt: Date.now() - 1000 }, fetch: rec.fetch });
  const grant = await resumed.login({ username, password });
  assert.equal(grant.transport, "bearer");
  assert.deepEqual(
    rec.log.map((s) => `${s.method} ${s.path} ${s.authorization === null ? "anonymous" : "bearer"}`),
    ["POST /v1/auth/login anonymous"],
    "no refresh, no token on a public operation",
  );
  const ok = await createBoxofficeClient(baseUrl, { auth: resumed }).GET("/v1/session");
  assert.equal(ok.response.status, 200);
  // Public operations never carry the token, nor wait for a refresh.
  const movies = await api.GET("/v1/movies", { params: { query: { limit: 1 } } });
  assert.equal(movies.response.status, 200);
});

test("a refresh whose answer is lost is retried with the same refresh token (the grace window)", async (t) => {
  let lost: number | undefined; // the status of the answer the test dropped
  const { rec, session, api } = await signedIn(baseUrl, {
    fetch: async (request) => {
      const response = await fetch(request);
      if (request.url.endsWith("/v1/auth/refresh") && lost === undefined) {
        lost = response.status; // the server rotated the token; the client never hears of it
        await response.arrayBuffer();
        throw new TypeError("fetch failed (the test dropped the answer)");
      }
      return response;
    },
  });
  const first = session.tokens();
  assert.ok(first);
  const before = metricsUrl ? await refreshCounts(metricsUrl) : undefined;

  const second = await session.refresh();
  const refreshes = rec.refreshes();
  assert.equal(refreshes.length, 2, "the lost attempt and its retry");
  assert.equal(refreshes[0]?.token, first.refreshToken);
  assert.equal(refreshes[1]?.token, first.refreshToken, "the retry sent the same refresh token");
  assert.equal(lost, 200, "the first attempt reached the server, which rotated the token");
  assert.equal(refreshes[1]?.status, 200, "the grace window answered the retry");
  assert.notEqual(second.refreshToken, first.refreshToken);
  if (needs(t, metricsUrl, "BOXOFFICE_METRICS_URL") && before) {
    const after = await refreshCounts(metricsUrl);
    assert.equal(after.requests - before.requests, 2, "both attempts reached the server");
    assert.equal(after.reuse, before.reuse, "no reuse was detected");
  }

  // The session lives on: the tokens work, and the chain of refresh tokens continues.
  const ok = await api.GET("/v1/session");
  assert.equal(ok.response.status, 200, JSON.stringify(ok.error));
  const third = await session.refresh();
  assert.notEqual(third.refreshToken, second.refreshToken);
  assert.equal(rec.refreshes().at(-1)?.status, 200);
});

test("a refresh answered 503 with Retry-After waits and retries with the same token", async (t) => {
  let failed = 0;
  const { rec, session } = await signedIn(baseUrl, {
    fetch: async (request) => {
      if (request.url.endsWith("/v1/auth/refresh") && failed++ === 0) {
        // What an instance that cannot reach Redis answers (a stand-in for it: no rotation happened).
        const problem = { type: "urn:boxoffice:problem:service_unavailable", title: "Service unavailable", status: 503, code: "service_unavailable" };
        return Response.json(problem, { status: 503, headers: { "Retry-After": "1", "Content-Type": "application/problem+json" } });
      }
      return fetch(request);
    },
  });
  const first = session.tokens();
  assert.ok(first);
  const before = metricsUrl ? await refreshCounts(metricsUrl) : undefined;
  const second = await session.refresh();
  const [a, b] = rec.refreshes();
  assert.ok(a && b && rec.refreshes().length === 2);
  assert.equal(a.status, 503);
  assert.equal(b.status, 200);
  assert.equal(b.token, a.token);
  assert.equal(a.token, first.refreshToken);
  assert.ok(b.at - a.at >= 950, `waited Retry-After: 1 (${b.at - a.at} ms)`);
  assert.notEqual(second.accessToken, first.accessToken);
  if (needs(t, metricsUrl, "BOXOFFICE_METRICS_URL") && before) {
    assert.equal((await refreshCounts(metricsUrl)).requests - before.requests, 1);
  }
});

test("a refresh that keeps failing in transport gives up, keeping the tokens", async () => {
  const { session } = await signedIn(baseUrl);
  const kept = session.tokens();
  assert.ok(kept);
  const rec = recorder(async () => {
    throw new TypeError("fetch failed (the test's network is down)");
  });
  const changes: (Tokens | undefined)[] = [];
  const offline = auth({ baseUrl, tokens: kept, fetch: rec.fetch, refreshAttempts: 3, maxRetryDelayMs: 50, onTokens: (x) => void changes.push(x) });
  await assert.rejects(offline.refresh(), (err) => {
    assert.ok(err instanceof AuthError && !(err instanceof SessionEndedError));
    assert.ok(err.cause instanceof TypeError);
    return true;
  });
  assert.equal(rec.refreshes().length, 3);
  assert.ok(rec.refreshes().every((r) => r.token === kept.refreshToken));
  assert.deepEqual(offline.tokens(), kept, "a transport failure is no reason to drop the tokens");
  assert.deepEqual(changes, []);
});

test("a real 401 token_expired is refreshed and the request, body included, retried once", async (t) => {
  if (!needs(t, shortUrl, "BOXOFFICE_SHORT_URL")) return;
  // Sign in on the server with 1-second access tokens, then resume with a clock that believes the
  // token lives an hour (a device clock behind the server's): no early refresh, so the server's
  // 401 is what triggers it.
  const { session: signing } = await signedIn(shortUrl);
  const signedTokens = signing.tokens();
  assert.ok(signedTokens);
  const rec = recorder();
  const session = auth({ baseUrl: shortUrl, tokens: { ...signedTokens, expiresAt: Date.now() + 3600_000 }, fetch: rec.fetch });
  const api = createBoxofficeClient(shortUrl, { fetch: rec.fetch, auth: session });

  // Wait until the server says the access token expired (1 s, plus its 5 s leeway).
  await expired(shortUrl, signedTokens.accessToken);

  const patched = await api.PATCH("/v1/session/data", {
    params: { header: { "If-Match": '"0"' } },
    body: { theme: "dark" },
    headers: { "Content-Type": "application/merge-patch+json" },
  });
  assert.equal(patched.response.status, 200, JSON.stringify(patched.error));
  assert.deepEqual(patched.data?.data, { theme: "dark" });
  assert.equal(patched.response.headers.get("ETag"), '"1"');
  const fresh = session.tokens();
  assert.ok(fresh);
  assert.deepEqual(
    rec.log.map((s) => `${s.method} ${s.path} ${s.status}`),
    ["PATCH /v1/session/data 401", "POST /v1/auth/refresh 200", "PATCH /v1/session/data 200"],
  );
  const [sent, , retried] = rec.log;
  assert.ok(sent && retried);
  assert.equal(sent.authorization, `Bearer ${signedTokens.accessToken}`);
  assert.equal(retried.authorization, `Bearer ${fresh.accessToken}`);
  assert.equal(retried.body, sent.body, "the retry sent the body again");
  assert.equal(retried.contentType, "application/merge-patch+json");
});

test("a spent refresh token presented again ends the session (refresh_token_reused)", async (t) => {
  if (!needs(t, shortUrl, "BOXOFFICE_SHORT_URL")) return; // no grace window there
  const { session, api, changes } = await signedIn(shortUrl);
  const spent = session.tokens();
  assert.ok(spent);
  await session.refresh(); // spends it
  const copyChanges: (Tokens | undefined)[] = [];
  const copy = auth({ baseUrl: shortUrl, tokens: spent, onTokens: (x) => void copyChanges.push(x) });
  await assert.rejects(copy.refresh(), (err) => {
    assert.ok(err instanceof SessionEndedError);
    assert.equal(err.code, "refresh_token_reused");
    assert.equal(err.problem.status, 401);
    return true;
  });
  assert.equal(copy.tokens(), undefined);
  assert.deepEqual(copyChanges, [undefined]);
  // The reuse revoked the whole session: the legitimate holder's tokens are refused too.
  const held = session.tokens();
  assert.ok(held);
  const probe = await fetch(`${shortUrl}/v1/session`, { headers: { Authorization: `Bearer ${held.accessToken}` } });
  assert.equal(probe.status, 401);
  assert.match(await probe.text(), /"code":"session_revoked"/);
  await assert.rejects(session.refresh(), (err) => {
    assert.ok(err instanceof SessionEndedError);
    assert.equal(err.code, "session_revoked");
    return true;
  });
  assert.equal(session.tokens(), undefined);
  assert.equal(changes.at(-1), undefined);
  const anonymous = await api.GET("/v1/session");
  assert.equal(anonymous.error?.code, "missing_token");
});

test("a password change made through the client moves the middleware to the new session", async () => {
  const { session, api, grant } = await signedIn(baseUrl, {}, "password");
  const changed = await api.POST("/v1/auth/password", {
    body: { current_password: password, new_password: "another-typescript-password" },
  });
  assert.equal(changed.response.status, 200, JSON.stringify(changed.error));
  assert.ok(changed.data?.transport === "bearer", "a bearer request gets a TokenResponse");
  assert.notEqual(changed.data.session_id, grant.session_id);
  assert.equal(session.tokens()?.accessToken, changed.data.access_token);
  const current = await api.GET("/v1/session");
  assert.equal(current.response.status, 200, JSON.stringify(current.error));
  assert.equal(current.data?.id, changed.data.session_id);
});
