// Shared by the tests: the servers .ci/run started, a fetch that records what the client sent,
// and the server's own counters (its Prometheus metrics).
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { DEFAULT_BASE_URL } from "../src/index.js";

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
