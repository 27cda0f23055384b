// Shared by the tests: the servers .ci/run started, a fetch that records what the client sent,
// and the server's own counters (its Prometheus metrics).
import assert from "node:assert/strict";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";
import { auth, createBoxofficeClient, DEFAULT_BASE_URL, type Tokens } from "../src/index.js";

/** The server under test (.ci/run starts one; by hand: go run ./cmd/boxoffice). */
export const baseUrl = process.env.BOXOFFICE_URL ?? DEFAULT_BASE_URL;
/** Its metrics listener (BOXOFFICE_METRICS_ADDR), for counting the requests that reached it. */
export const metricsUrl = process.env.BOXOFFICE_METRICS_URL;
/** A second server with BOXOFFICE_ACCESS_TTL=1s and BOXOFFICE_REFRESH_GRACE=0s. */
export const shortUrl = process.env.BOXOFFICE_SHORT_URL;

/**
 * needs returns value, or: fails the test under CI (CI must run everything), and skips it when
 * run by hand without that server.
 */
export function needs(t: TestContext, value: string | undefined, what: string): value is string {
  if (value) return true;
  assert.ok(!process.env.CI, `${what} is not set: .ci/run sets it`);
  t.skip(`${what} is not set`);
  return false;
}

export const password = "typescript-client-password";

/** A username no other test run uses (at most 32 characters: keep labels short). */
export function uniqueName(label: string) {
  return `ts-${label}-${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
}

/** One request as the client sent it, and what came back. */
export interface Sent {
  method: string;
  path: string;
  authorization: string | null;
  cookie: string | null;
  contentType: string | null;
  /** The request's redirect and credentials modes. */
  redirect: RequestRedirect;
  credentials: RequestCredentials;
  body: string;
  at: number;
  status?: number;
}

export type Fetch = (request: Request) => Promise<Response>;

/** recorder wraps a fetch (default: the real one) and logs every request given to it. */
export function recorder(inner: Fetch = (request) => fetch(request)) {
  const log: Sent[] = [];
  const wrapped: Fetch = async (request) => {
    const entry: Sent = {
      method: request.method,
      path: new URL(request.url).pathname,
      authorization: request.headers.get("Authorization"),
      cookie: request.headers.get("Cookie"),
      contentType: request.headers.get("Content-Type"),
      redirect: request.redirect,
      credentials: request.credentials,
      body: await request.clone().text(),
      at: Date.now(),
    };
    log.push(entry);
    const response = await inner(request);
    entry.status = response.status;
    return response;
  };
  return {
    log,
    fetch: wrapped,
    /** The refresh requests sent, with the refresh token each carried. */
    refreshes: () =>
      log
        .filter((s) => s.method === "POST" && s.path === "/v1/auth/refresh")
        .map((s) => ({ ...s, token: s.body ? (JSON.parse(s.body) as { refresh_token: string }).refresh_token : "" })),
  };
}

/** serverCount sums a counter of the server's /metrics over the series that have these labels. */
export async function serverCount(url: string, name: string, labels: Record<string, string>) {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  let sum = 0;
  for (const line of (await res.text()).split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

/** The server's counts of refreshes: requests to the route, and refresh operations (any outcome). */
export async function refreshCounts(url: string) {
  return {
    requests: await serverCount(url, "boxoffice_http_requests_total", { route: "/v1/auth/refresh" }),
    operations: await serverCount(url, "boxoffice_operations_total", { operation: "refresh" }),
    reuse: await serverCount(url, "boxoffice_refresh_reuse_detections_total", {}),
  };
}

/** latch: a promise and the function that resolves it (a fetch blocked until the test opens it). */
export function latch() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** The next turn of the event loop: every callback queued by now has run. */
export const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** expired waits until the server at url says accessToken expired (1 s tokens, plus its 5 s leeway). */
export async function expired(url: string, accessToken: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const probe: Response = await fetch(`${url}/v1/session`, { headers: { Authorization: `Bearer ${accessToken}` } });
    const body = await probe.text();
    if (probe.status === 401) {
      assert.match(body, /"code":"token_expired"/);
      assert.match(probe.headers.get("WWW-Authenticate") ?? "", /error_description="token_expired"/);
      return;
    }
    assert.equal(probe.status, 200, body);
    assert.ok(Date.now() < deadline, "the access token did not expire within 20 s");
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** One user per server for these tests (registrations are rate-limited per IP), made when first needed. */
const users = new Map<string, Promise<string>>();
export function userOf(url: string, fresh?: string) {
  const make = async (username: string) => {
    const reg = await createBoxofficeClient(url).POST("/v1/users", { body: { username, password } });
    assert.equal(reg.response.status, 201, JSON.stringify(reg.error));
    return username;
  };
  if (fresh) return make(uniqueName(fresh));
  let user = users.get(url);
  if (!user) users.set(url, (user = make(uniqueName("auth"))));
  return user;
}

/**
 * A recorded fetch, a new session (a sign-in of the server's test user, or of a fresh user named
 * after `fresh`), and a client using it; `changes` lists what onTokens was given.
 */
export async function signedIn(url: string, options: Parameters<typeof auth>[0] = {}, fresh?: string) {
  const username = await userOf(url, fresh);
  const rec = recorder(options.fetch);
  const changes: (Tokens | undefined)[] = [];
  const session = auth({ baseUrl: url, ...options, fetch: rec.fetch, onTokens: (t) => void changes.push(t) });
  const api = createBoxofficeClient(url, { fetch: rec.fetch, auth: session });
  const grant = await session.login({ username, password, device_name: "node" });
  return { rec, changes, session, api, username, grant };
}

/** The path of a request's URL. */
export const pathOf = (request: Request) => new URL(request.url).pathname;

/** A server of the test's own on a loopback port (another origin than the API's), closed after the test. */
export async function listen(t: TestContext, handler: RequestListener) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
