// auth(): bearer sessions for openapi-fetch clients. It keeps the session's tokens, sends the
// access token as `Authorization: Bearer` (never as a cookie), refreshes it before it expires and
// once more on a `401 token_expired`, with one POST /v1/auth/refresh however many requests need it.
// The rules it follows are openapi.yaml's: info.description "Session model" and "Authentication",
// and the refreshToken operation (single-use refresh tokens, the grace window for a retry).
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type Problem = components["schemas"]["Problem"];
export type ProblemCode = Problem["code"];
export type LoginRequest = components["schemas"]["LoginRequest"];
export type TokenResponse = components["schemas"]["TokenResponse"];

/** The first server of openapi.yaml: the default base URL. */
export const DEFAULT_BASE_URL = "http://localhost:8080";

/** What auth() keeps of a bearer session; persist it to resume the session later. */
export interface Tokens {
  accessToken: string;
  /** Single use: each refresh spends it and returns its successor. */
  refreshToken: string;
  /**
   * When the access token expires, in milliseconds since the epoch by the `now` clock: the time
   * its grant arrived plus the grant's `expires_in` (so the device's clock may differ from the
   * server's).
   */
  expiresAt: number;
}

export interface AuthOptions {
  /** The API's base URL, as given to the client; default: servers[0] of openapi.yaml. */
  baseUrl?: string;
  /** Tokens of an earlier session to resume (as last given to onTokens). */
  tokens?: Tokens;
  /**
   * Called (and awaited) whenever the tokens change: sign-in, every refresh (a new refresh token:
   * store it, the previous one is spent), password change; `undefined` when the session is over
   * (logout, or the server said it ended).
   */
  onTokens?: (tokens: Tokens | undefined) => void | Promise<void>;
  /** The fetch used for sign-in, refresh and logout; default: globalThis.fetch. */
  fetch?: (request: Request) => Promise<Response>;
  /** The clock, in milliseconds since the epoch; default: Date.now. */
  now?: () => number;
  /**
   * Refresh this many seconds before the access token expires (default 30, a tenth of the
   * server's default 5-minute lifetime; at most half the lifetime of a grant received here, so
   * short-lived tokens are not refreshed before every request): requests then never carry a
   * token that expires in flight. A token that still expires early (a device clock behind the
   * server's) gets `401 token_expired`, which is refreshed and the request retried once.
   */
  skewSeconds?: number;
  /**
   * Attempts of one refresh (default 4) when it fails in transport, or with 408, 429 or 5xx.
   * Every attempt sends the SAME refresh token: if the server rotated it but the answer was lost,
   * its grace window (10 s by default) answers the session's current token. The waits are
   * Retry-After when the server gives one, else 0.25 s, 0.5 s, 1 s…, each at most maxRetryDelayMs.
   */
  refreshAttempts?: number;
  /** The longest wait between two refresh attempts, in milliseconds (default 5000). */
  maxRetryDelayMs?: number;
}

/** A sign-in, refresh or logout that did not succeed; `problem` is the server's answer, if any. */
export class AuthError extends Error {
  override name = "AuthError";
  readonly status: number | undefined;
  readonly problem: Problem | undefined;
  constructor(message: string, init: { status?: number; problem?: Problem; cause?: unknown } = {}) {
    super(message, { cause: init.cause });
    this.status = init.status;
    this.problem = init.problem;
  }
  get code(): ProblemCode | undefined {
    return this.problem?.code;
  }
}

/**
 * The session is over (`invalid_refresh_token`, `refresh_token_reused`, `session_revoked` or
 * `session_expired`): its tokens were cleared and onTokens(undefined) was called. Sign in again.
 */
export class SessionEndedError extends AuthError {
  override name = "SessionEndedError";
  declare readonly problem: Problem;
  constructor(problem: Problem) {
    super(`the session is over: ${problem.code}`, { status: problem.status, problem });
  }
}

/** The problem codes of a 401 after which a session's tokens are useless. */
const ENDED: ReadonlySet<string> = new Set<ProblemCode>([
  "invalid_refresh_token",
  "refresh_token_reused",
  "session_revoked",
  "session_expired",
]);

/**
 * The operations whose security requirement is empty (`security: []` in openapi.yaml): no token
 * is attached to them, and they never wait for a refresh (a sign-in must go through when the old
 * session has ended). The tests compare this list with the server's /openapi.json.
 */
export const PUBLIC_OPERATIONS: ReadonlySet<string> = new Set([
  "GET /healthz",
  "GET /readyz",
  "GET /openapi.yaml",
  "GET /openapi.json",
  "GET /",
  "GET /app/{asset}",
  "GET /docs",
  "GET /docs/{asset}",
  "POST /v1/users",
  "POST /v1/auth/login",
  "POST /v1/auth/refresh",
  "GET /v1/movies",
  "GET /v1/movies/{id}",
  "GET /v1/cinemas",
  "GET /v1/cinemas/{id}",
  "GET /v1/screenings",
  "GET /v1/screenings/{id}",
  "GET /v1/screenings/{id}/seats",
  "GET /v1/screenings/{id}/seats/events",
  "POST /v1/payments/webhook",
]);

/** The sign-in state and helpers returned by auth(). */
export interface Auth {
  /** Register it on a client: `client.use(session.middleware)`. */
  readonly middleware: Middleware;
  /** Signs in with the bearer transport; the tokens are kept (and given to onTokens). */
  login(credentials: Omit<LoginRequest, "transport">): Promise<TokenResponse>;
  /** Signs out (POST /v1/auth/logout) and forgets the tokens, also when the server cannot be told. */
  logout(): Promise<void>;
  /** Refreshes now (joining a refresh in flight); rejects with SessionEndedError when the session is over. */
  refresh(): Promise<Tokens>;
  /** The current tokens, undefined when signed out. */
  tokens(): Tokens | undefined;
}

/** auth creates the bearer-session state and middleware for clients of the API at baseUrl. */
export function auth(options: AuthOptions = {}): Auth {
  const baseUrl = options.baseUrl ?? DEFAULT_BASE_URL;
  const now = options.now ?? Date.now;
  const skewMs = (options.skewSeconds ?? 30) * 1000;
  const attempts = Math.max(1, options.refreshAttempts ?? 4);
  const maxDelayMs = options.maxRetryDelayMs ?? 5000;
  // Sign-in, refresh and logout: a client of its own that never sends cookies (credentials
  // "omit" matters in browsers; Node's fetch has no cookie jar).
  const plain = createClient<paths>({ baseUrl, fetch: options.fetch, credentials: "omit" });

  let state = options.tokens;
  let inflight: Promise<Tokens> | undefined;
  /** Per request id: a copy of the request as sent (its body unread) and the token it carried. */
  const sent = new Map<string, { copy: Request; accessToken: string }>();

  async function set(tokens: Tokens | undefined) {
    state = tokens;
    await options.onTokens?.(tokens);
  }
  /** The lifetime of the tokens made here from a grant (resumed tokens: unknown). */
  const lifetimeMs = new WeakMap<Tokens, number>();
  function fromGrant(grant: TokenResponse): Tokens {
    const tokens = { accessToken: grant.access_token, refreshToken: grant.refresh_token, expiresAt: now() + grant.expires_in * 1000 };
    lifetimeMs.set(tokens, grant.expires_in * 1000);
    return tokens;
  }
  /** Whether to refresh before sending t: within the skew of its expiry, the skew being at most half its lifetime. */
  const due = (t: Tokens) => now() >= t.expiresAt - Math.min(skewMs, (lifetimeMs.get(t) ?? Infinity) / 2);

  function refresh(): Promise<Tokens> {
    inflight ??= rotate().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  async function rotate(): Promise<Tokens> {
    const start = state;
    if (!start) throw new AuthError("not signed in");
    const body = { refresh_token: start.refreshToken }; // the same token on every attempt
    for (let attempt = 1; ; attempt++) {
      let wait = Math.min(maxDelayMs, 250 * 2 ** (attempt - 1));
      let failure: AuthError;
      try {
        const { data, error, response } = await plain.POST("/v1/auth/refresh", { body });
        if (data?.transport === "bearer") {
          if (state !== start) {
            // Signed out or in again meanwhile: that wins.
            if (!state) throw new AuthError("signed out during the refresh");
            return state;
          }
          const tokens = fromGrant(data);
          await set(tokens);
          return tokens;
        }
        if (data) throw new AuthError(`refresh answered the ${data.transport} transport`, { status: response.status });
        if (response.status === 401 && error && ENDED.has(error.code)) {
          if (state === start) await set(undefined);
          throw new SessionEndedError(error);
        }
        failure = new AuthError(`refresh failed: ${response.status} ${error?.code ?? ""}`.trim(), {
          status: response.status,
          problem: error,
        });
        if (!(response.status === 408 || response.status === 429 || response.status >= 500)) throw failure;
        const after = retryAfterMs(response.headers.get("Retry-After"));
        if (after !== undefined) wait = Math.min(maxDelayMs, after);
      } catch (cause) {
        if (cause instanceof AuthError) throw cause;
        failure = new AuthError("refresh failed in transport", { cause });
      }
      if (attempt >= attempts) throw failure;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** The tokens to send now: refreshed first when due (a failed early refresh keeps a valid token). */
  async function current(): Promise<Tokens | undefined> {
    const t = state;
    if (!t || !due(t)) return t;
    try {
      return await refresh();
    } catch (err) {
      if (err instanceof SessionEndedError || !state || now() >= state.expiresAt) throw err;
      return state; // not expired yet: try with it
    }
  }

  /** After a 401: forget the tokens if the server says the session that `accessToken` belongs to is over. */
  async function ended(code: string | undefined, accessToken: string) {
    if ((code === "session_revoked" || code === "session_expired") && state?.accessToken === accessToken) {
      await set(undefined);
    }
  }

  const middleware: Middleware = {
    async onRequest({ request, schemaPath, id }) {
      if (PUBLIC_OPERATIONS.has(`${request.method} ${schemaPath}`) || request.headers.has("Authorization")) return;
      const t = await current();
      if (!t) return;
      request.headers.set("Authorization", `Bearer ${t.accessToken}`);
      sent.set(id, { copy: request.clone(), accessToken: t.accessToken }); // before fetch reads the body
      return request;
    },
    async onResponse({ request, response, schemaPath, id, options: client }) {
      const mine = sent.get(id);
      sent.delete(id);
      if (response.ok && request.method === "POST" && (schemaPath === "/v1/auth/login" || schemaPath === "/v1/auth/password")) {
        // A sign-in or password change made with this client: its grant replaces the tokens.
        const grant: components["schemas"]["SessionGrant"] = await response.clone().json();
        if (grant.transport === "bearer") await set(fromGrant(grant));
        return;
      }
      if (response.status === 204 && (schemaPath === "/v1/auth/logout" || schemaPath === "/v1/auth/logout-all")) {
        if (mine && state?.accessToken === mine.accessToken) await set(undefined);
        return;
      }
      if (response.status !== 401 || !mine) return;
      const text = await response.text();
      const code = problemCode(text);
      if (code === "token_expired" && state) {
        // Refresh unless another request already did since this one was sent; then retry once.
        const fresh = state.accessToken === mine.accessToken ? await refresh() : state;
        const retry = new Request(mine.copy, { headers: new Headers(mine.copy.headers) });
        retry.headers.set("Authorization", `Bearer ${fresh.accessToken}`);
        const again = await client.fetch(retry);
        if (again.status === 401) await ended(problemCode(await again.clone().text()), fresh.accessToken);
        return again;
      }
      await ended(code, mine.accessToken);
      return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
    },
    onError({ id }) {
      sent.delete(id);
    },
  };

  const self = createClient<paths>({ baseUrl, fetch: options.fetch, credentials: "omit" });
  self.use(middleware);

  return {
    middleware,
    async login(credentials) {
      const { data, error, response } = await self.POST("/v1/auth/login", { body: { ...credentials, transport: "bearer" } });
      if (data?.transport === "bearer") return data; // the middleware kept its tokens
      throw new AuthError(`sign-in failed: ${response.status} ${error?.code ?? ""}`.trim(), { status: response.status, problem: error });
    },
    async logout() {
      if (!state) return;
      try {
        const { error, response } = await self.POST("/v1/auth/logout");
        if (response.status !== 204 && !(response.status === 401 && error && ENDED.has(error.code))) {
          throw new AuthError(`logout failed: ${response.status} ${error?.code ?? ""}`.trim(), { status: response.status, problem: error });
        }
      } catch (err) {
        if (!(err instanceof SessionEndedError)) throw err;
      } finally {
        if (state) await set(undefined);
      }
    },
    refresh,
    tokens: () => state,
  };
}

/** The `code` of a problem+json body, if it is one. */
function problemCode(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === "object" && "code" in body && typeof body.code === "string") return body.code;
  } catch {
    // not JSON
  }
  return undefined;
}

/** Retry-After (delay-seconds or an HTTP date) in milliseconds from now. */
function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
