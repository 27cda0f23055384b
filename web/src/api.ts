// How a browser app talks to the API with the cookie transport: the access and refresh tokens
// live in HttpOnly cookies the browser sends by itself (credentials: "same-origin"); the app
// only reads the CSRF token cookie and echoes it in X-CSRF-Token on every state-changing
// request. Every error is an RFC 9457 problem, thrown as an ApiError.
import type { CookieSession, User } from "./types";

/** An RFC 9457 problem as the API sends it (application/problem+json). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  request_id?: string;
  errors?: Record<string, string>; // validation_failed: field -> message
  seat_ids?: string[]; // seats_unavailable, seat_group_split, orphan_seat
}

/** A failed call: the problem the server answered, or a made-up one when it was not reached. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
  }
  get status(): number {
    return this.problem.status;
  }
  get code(): string {
    return this.problem.code;
  }
}

export interface Reply<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** The CSRF token: the readable cookie set at sign-in (bx_csrf in plain-HTTP development). */
export function csrfToken(): string {
  for (const pair of document.cookie.split(";")) {
    const [name, ...value] = pair.trim().split("=");
    if (name === "__Host-bx_csrf" || name === "bx_csrf") return decodeURIComponent(value.join("="));
  }
  return "";
}

const safeMethods = new Set(["GET", "HEAD"]);

/**
 * Calls the API on this origin. An access token that expired (401 token_expired) is refreshed
 * once, then the request is sent again.
 */
export async function call<T = unknown>(
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  let resp = await send(method, path, options);
  if (resp.status === 401) {
    const problem = await problemOf(resp);
    if (problem.code !== "token_expired" || !(await refresh())) throw new ApiError(problem);
    resp = await send(method, path, options);
  }
  if (!resp.ok) throw new ApiError(await problemOf(resp));
  const body = resp.status === 204 ? undefined : await resp.json();
  return { status: resp.status, headers: resp.headers, body: body as T };
}

async function send(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> }) {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (!safeMethods.has(method)) {
    const token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
  }
  try {
    return await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError({
      type: "about:blank", title: "Network error", status: 0, code: "network",
      detail: "The server could not be reached. Check your connection and try again.",
    });
  }
}

async function problemOf(resp: Response): Promise<Problem> {
  try {
    const p = (await resp.json()) as Problem;
    if (p && typeof p.title === "string") return p;
  } catch {
    // not JSON: a proxy's error page, say
  }
  return { type: "about:blank", title: resp.statusText || "Error", status: resp.status, code: "http_" + resp.status };
}

let refreshing: Promise<boolean> | null = null;

/**
 * Rotates the session's tokens: POST /v1/auth/refresh with no body, the refresh cookie (which
 * the browser sends to that path only) and the CSRF header. Concurrent callers share one
 * refresh, since a refresh token is single-use.
 */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const resp = await fetch("/v1/auth/refresh", {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken() },
      });
      return resp.ok;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Signs in with the cookie transport. */
export async function signIn(username: string, password: string): Promise<CookieSession> {
  const device = navigator.userAgent.includes("Mobile") ? "Phone browser" : "Web browser";
  const r = await call<CookieSession>("POST", "/v1/auth/login", {
    body: { username, password, device_name: device, transport: "cookie" },
  });
  return r.body;
}

/** The signed-in user, or null when this browser has no live session. */
export async function whoAmI(): Promise<User | null> {
  try {
    return (await call<User>("GET", "/v1/me")).body;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

/** A fresh Idempotency-Key: one per purchase attempt, sent unchanged with each of its retries. */
export function idempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
