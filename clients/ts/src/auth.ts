// auth(): bearer sessions for openapi-fetch clients. It keeps the session's tokens, sends the
// access token as `Authorization: Bearer` (never as a cookie, and only to the API's origin),
// refreshes it before it expires and once more on a `401 token_expired`, with one
// POST /v1/auth/refresh however many requests need it. The rules it follows are openapi.yaml's:
// info.description "Session model" and "Authentication", and the refreshToken operation
// (single-use refresh tokens, the grace window for a retry).
//
// Sessions have generations: a sign-in (and tokens given to auth() to resume) starts one, a
// refresh or a password change keeps it, a logout or a session the server says is over ends it.
// Every request remembers the generation it was sent in; a `401 token_expired` is retried, and a
// refresh's tokens handed on, only within that generation, so a request never goes out again
// with the tokens of a session (or a user) that signed in after it was sent: it gets its 401 as
// is, and a request still waiting for a refresh when the generation changes rejects (AuthError).
//
// auth() is for the bearer transport. Cookie sessions (`transport: "cookie"` at sign-in) need no
// middleware: use createBoxofficeClient WITHOUT auth; a browser sends the session cookie to a
// same-origin API by itself. For an API on another origin, requests need `credentials: "include"`
// and unsafe ones (POST, PUT, PATCH, DELETE) the `X-CSRF-Token` header the sign-in returned.
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
  /**
   * The API's base URL, as given to the client; default: servers[0] of openapi.yaml. The access
   * token is sent only to its origin (scheme, host and port): a request to any other origin (a
   * per-request `baseUrl`, a client made for another server) goes without it.
   */
  baseUrl?: string;
  /** Tokens of an earlier session to resume (as last given to onTokens); they start a generation. */
  tokens?: Tokens;
  /**
   * Called (and awaited) whenever the tokens change: sign-in, every refresh (a new refresh token:
   * store it, the previous one is spent), password change; `undefined` when the session is over
   * (logout, or the server said it ended). No refresh starts while new tokens are being given to
   * it, so it never stores a refresh token that is already spent.
   *
   * It may call session.refresh() (which then answers the tokens being given, without a second
   * refresh), session.login() and session.logout(); calls it makes see the new tokens at once, so
   * store the argument before making them. It must not wait for a password change made through
   * the client when it is called for a refresh (the change waits for that refresh to finish,
   * onTokens included).
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
   * Attempts of one refresh (default 4) when it fails in transport (a timeout included), or with
   * 408, 429 or 5xx. Every attempt sends the SAME refresh token: if the server rotated it but the
   * answer was lost, its grace window answers the session's current token. The waits are the
   * server's Retry-After when it gives one, else 0.25 s, 0.5 s, 1 s… up to maxRetryDelayMs; all
   * attempts after the first are made within the refresh budget (see refreshGraceSeconds).
   */
  refreshAttempts?: number;
  /** The longest wait between two refresh attempts when the server gives no Retry-After, in milliseconds (default 5000). */
  maxRetryDelayMs?: number;
  /**
   * How long one refresh attempt may take, in milliseconds (default 3000); then it is abandoned
   * (its fetch aborted with a TimeoutError) and counts as a transport failure. Without it a lost
   * answer would hold every request for as long as the fetch waits (minutes in Node, for ever in
   * browsers).
   */
  refreshTimeoutMs?: number;
  /**
   * The server's refresh grace window, BOXOFFICE_REFRESH_GRACE, in seconds (default 10, the
   * server's default; 0 when it is off). A refresh retries only within its budget, 80 % of this
   * counted from when its first attempt was sent: an attempt after the first is sent, and
   * abandoned, before the budget is spent, and a Retry-After that ends past it ends the refresh
   * (an AuthError; the tokens are kept). The server times the window from when it applied the
   * rotation, which is after the first attempt was sent, so every retry it receives is in the
   * window.
   *
   * Calls and requests that waited for a refresh that failed (that joined it, or waited for a
   * password change whose refresh failed) get its failure; they do not send the token again. 0 (a
   * server without a grace window) means a refresh is never retried.
   *
   * What remains: when a refresh fails this way, auth() keeps the tokens (the session may be
   * fine: the server may never have seen the attempt), and the next refresh (a later call or
   * request that needs one, or refresh()) sends the same refresh token again, with a budget of
   * its own. If an attempt was in fact applied more than the grace window before, the server
   * answers `refresh_token_reused` and revokes the session: the refresh fails with
   * SessionEndedError (the tokens are cleared), and the user must sign in again.
   */
  refreshGraceSeconds?: number;
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

/**
 * A password change holds back refreshes until its answer (or its failure) reaches this
 * middleware. That never happens when another middleware answers or fails it first, so every
 * PASSWORD_CHANGE_HOLD_MS the hold is released unless a password change is in fetch. Clients made
 * by createBoxofficeClient tell auth() when one is (a change in flight is never released early);
 * on a client of openapi-fetch's own (`client.use(session.middleware)`) auth() cannot see the fetch,
 * and the hold ends after PASSWORD_CHANGE_HOLD_MS (a refresh answered after the change's grant is
 * then dropped; one the server refuses because the change revoked its session can still end it).
 */
const PASSWORD_CHANGE_HOLD_MS = 30_000;

/** createBoxofficeClient's way to tell an auth() which requests are in fetch (not public). */
export const fetchHooks = new WeakMap<Auth, (inner: Fetch) => Fetch>();

/** The fetch of a client: openapi-fetch passes a Request and its requestInitExt (undici's dispatcher…). */
export type Fetch = (request: Request, more?: RequestInit) => Promise<Response>;

/** The sign-in state and helpers returned by auth(). */
export interface Auth {
  /**
   * Register it on a client: `client.use(session.middleware)`, on a client made with
   * `credentials: "omit"` and `redirect: "error"` (createBoxofficeClient does all three, and tells
   * auth() when a password change is in fetch: see PASSWORD_CHANGE_HOLD_MS), so that a browser
   * sends no cookies beside the token and no redirect carries a password or the token elsewhere.
   * It attaches the token only to requests to baseUrl's origin.
   */
  readonly middleware: Middleware;
  /** The base URL given to auth() (or the default): the token goes only to its origin. */
  readonly baseUrl: string;
  /** Signs in with the bearer transport; the tokens are kept (and given to onTokens). A new generation. */
  login(credentials: Omit<LoginRequest, "transport">): Promise<TokenResponse>;
  /** Signs out (POST /v1/auth/logout) and forgets the tokens, also when the server cannot be told. */
  logout(): Promise<void>;
  /**
   * Refreshes now (joining a refresh in flight; during a password change made through the client,
   * it waits for it and answers the tokens it gave); rejects with SessionEndedError when the session is over, and with AuthError when it failed
   * (the tokens are kept) or the client signed out or in again meanwhile.
   */
  refresh(): Promise<Tokens>;
  /** The current tokens, undefined when signed out. */
  tokens(): Tokens | undefined;
}

/** The origin (scheme://host:port) of a URL; relative URLs are taken relative to the page, if any. */
export function originOf(url: string): string {
  return new URL(url, globalThis.location?.href).origin;
}

/** What the middleware keeps of a request it attached a token to. */
interface Sent {
  /** A copy of the request as sent (its body unread), for the retry. */
  copy: Request;
  accessToken: string;
  /** The session generation and the server session it was sent in. */
  generation: number;
  epoch: number;
  /** Set for a password change: the id holding back refreshes. */
  owner?: string;
}

/** auth creates the bearer-session state and middleware for clients of the API at baseUrl. */
export function auth(options: AuthOptions = {}): Auth {
  const baseUrl = options.baseUrl ?? DEFAULT_BASE_URL;
  const origin = originOf(baseUrl);
  const now = options.now ?? Date.now;
  const skewMs = (options.skewSeconds ?? 30) * 1000;
  const attempts = Math.max(1, options.refreshAttempts ?? 4);
  const maxDelayMs = options.maxRetryDelayMs ?? 5000;
  const timeoutMs = options.refreshTimeoutMs ?? 3000;
  const budgetMs = 0.8 * (options.refreshGraceSeconds ?? 10) * 1000;
  // Sign-in, refresh and logout: clients of their own that never send cookies (credentials
  // "omit" matters in browsers; Node's fetch has no cookie jar) and never follow a redirect (the
  // API answers these itself; a redirect would carry a password or a token elsewhere).
  const init = { baseUrl, fetch: options.fetch, credentials: "omit", redirect: "error" } as const;
  const plain = createClient<paths>(init);

  let state = options.tokens;
  /** The session generation: a new one at every sign-in, and when a session ends. */
  let generation = 0;
  /** The server session within the generation: a new one at a password change, too. */
  let epoch = 0;
  /** The refresh in flight, and the generation it belongs to. */
  let inflight: { generation: number; n: number; promise: Promise<Tokens> } | undefined;
  /** A password change in flight: refreshes other than its own wait for `done`. */
  let changing: { id: string; generation: number; done: Promise<void>; release: () => void } | undefined;
  /** The tokens being given to onTokens right now. */
  const delivering = new WeakSet<Tokens>();
  /**
   * The requests the middleware attached a token to, by openapi-fetch's per-call options object
   * (the same in onRequest, onResponse and onError of one call): an entry whose call ended without
   * reaching onResponse or onError (a later middleware answered or threw) is dropped with it.
   */
  const sent = new WeakMap<object, Sent>();
  /** Password changes in fetch right now (known for clients made by createBoxofficeClient). */
  let changeFetches = 0;
  /** The refreshes started so far, and the last one that failed (its number and failure). */
  let started = 0;
  let lastFailed: { n: number; generation: number; tokens: Tokens; error: unknown } | undefined;

  /**
   * onTokens calls may overlap (one may call login() or logout(), and an answer may arrive while
   * one runs): when one ends after a later one ended, what it stored is stale, so the current
   * tokens are given again, and the last call to end is always given the current tokens.
   */
  let deliveries = 0;
  let lastEnded = 0;
  async function deliver(tokens: Tokens | undefined): Promise<void> {
    const n = ++deliveries;
    if (tokens) delivering.add(tokens);
    try {
      await options.onTokens?.(tokens);
    } finally {
      if (tokens) delivering.delete(tokens);
      const stale = n < lastEnded;
      lastEnded = Math.max(lastEnded, n);
      if (stale && state !== tokens) await deliver(state);
    }
  }
  /** A sign-in: a new generation. */
  async function begin(tokens: Tokens) {
    state = tokens;
    generation++;
    epoch++;
    await deliver(tokens);
  }
  /** The session is over (or signed out): the generation ends. */
  async function end() {
    if (!state) return;
    state = undefined;
    generation++;
    epoch++;
    await deliver(undefined);
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

  /**
   * The tokens after a refresh: joins the refresh in flight of this generation, or starts one.
   * `stale`: an access token the caller found wanting; if the tokens are no longer those, they
   * are the answer. `owner`: the password change asking (it does not wait for itself).
   */
  function refresh(owner?: string, stale?: string): Promise<Tokens> {
    const t = state;
    if (!t) return Promise.reject(new AuthError("not signed in"));
    if (stale !== undefined && t.accessToken !== stale) return Promise.resolve(t);
    // Tokens just received, still being given to onTokens (which may be the caller): they are fresh.
    if (delivering.has(t)) return Promise.resolve(t);
    if (inflight?.generation === generation) return inflight.promise;
    if (changing && changing.generation === generation && changing.id !== owner) {
      const g = generation;
      const before = started;
      return changing.done.then(() => {
        if (generation !== g) throw new AuthError("signed out or in again while the refresh waited for a password change");
        // The change made a refresh meanwhile, which failed (the tokens unchanged): its failure is
        // the answer, as for the calls that joined it (no second refresh at once).
        if (lastFailed && lastFailed.n > before && lastFailed.generation === g && lastFailed.tokens === state) throw lastFailed.error;
        return refresh(owner, stale ?? t.accessToken); // the change's grant, if it went through
      });
    }
    const n = ++started;
    const entry = { generation, n, promise: rotate(t, generation) };
    inflight = entry;
    void entry.promise.then(
      () => void (inflight === entry && (inflight = undefined)),
      (error: unknown) => {
        if (inflight === entry) inflight = undefined;
        lastFailed = { n, generation: entry.generation, tokens: t, error };
      },
    );
    return entry.promise;
  }

  async function rotate(start: Tokens, g: number): Promise<Tokens> {
    const e = epoch;
    const body = { refresh_token: start.refreshToken }; // the same token on every attempt
    let first: number | undefined; // when this refresh's first attempt was sent (a monotonic clock)
    let failure: AuthError | undefined; // the previous attempt's
    /** The answer when a password change moved the session meanwhile: its tokens, not this refresh's. */
    const moved = () => {
      if (generation !== g || !state) throw new AuthError("signed out or in again during the refresh");
      return state;
    };
    for (let attempt = 1; ; attempt++) {
      if (epoch !== e) return moved();
      const sentAt = performance.now();
      first ??= sentAt;
      const deadline = first + budgetMs;
      if (failure && sentAt >= deadline) throw spent(failure); // the wait ended late
      let wait = Math.min(maxDelayMs, 250 * 2 ** (attempt - 1));
      try {
        const limit = Math.max(1, attempt === 1 ? timeoutMs : Math.min(timeoutMs, deadline - sentAt));
        const { data, error, response } = await withTimeout(limit, (signal) => plain.POST("/v1/auth/refresh", { body, signal }));
        if (generation !== g) throw new AuthError("signed out or in again during the refresh: its answer was dropped");
        // A password change moved the session while this refresh was out: its answer is the old
        // session's (revoked by the change), so the change's tokens stand.
        if (epoch !== e) return moved();
        if (data?.transport === "bearer") {
          const tokens = fromGrant(data);
          state = tokens;
          await deliver(tokens);
          if (generation !== g) throw new AuthError("signed out or in again during the refresh");
          return state ?? tokens;
        }
        if (data) throw new AuthError(`refresh answered the ${data.transport} transport`, { status: response.status });
        if (response.status === 401 && error && ENDED.has(error.code)) {
          if (epoch === e) await end();
          throw new SessionEndedError(error);
        }
        failure = new AuthError(`refresh failed: ${response.status} ${error?.code ?? ""}`.trim(), {
          status: response.status,
          problem: error,
        });
        if (!(response.status === 408 || response.status === 429 || response.status >= 500)) throw failure;
        const after = retryAfterMs(response.headers.get("Retry-After"));
        if (after !== undefined) {
          if (attempt < attempts && performance.now() + after >= deadline) {
            throw new AuthError(`${failure.message}: Retry-After ${after / 1000} s ends past the refresh budget (${budgetMs / 1000} s after the first attempt)`, {
              status: failure.status,
              problem: failure.problem,
            });
          }
          wait = after;
        }
      } catch (cause) {
        if (cause instanceof AuthError) throw cause;
        const timedOut = cause instanceof Error && cause.name === "TimeoutError";
        failure = new AuthError(timedOut ? "refresh timed out" : "refresh failed in transport", { cause });
      }
      if (attempt >= attempts) throw failure;
      // A later attempt could reach the server after the grace window of the first one.
      if (performance.now() + wait >= deadline) throw spent(failure);
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (generation !== g) throw new AuthError("signed out or in again during the refresh");
    }
  }

  /** The last failure of a refresh that may not try again within its budget. */
  function spent(failure: AuthError) {
    return new AuthError(`${failure.message} (no further attempt: the refresh budget of ${budgetMs / 1000} s is spent)`, {
      status: failure.status,
      problem: failure.problem,
      cause: failure.cause,
    });
  }

  /**
   * Holds refreshes back for the password change `id`, once the refresh in flight (if any) is
   * over. Returns the failure of a refresh it waited for (the tokens unchanged since), if any.
   */
  async function holdRefreshes(id: string): Promise<unknown> {
    let from = started + 1; // the refreshes waited for: from this one on
    for (;;) {
      if (changing) await changing.done;
      else if (inflight?.generation === generation) {
        from = Math.min(from, inflight.n);
        await inflight.promise.catch(() => undefined);
      } else break;
    }
    const failed = lastFailed && lastFailed.n >= from && lastFailed.generation === generation && lastFailed.tokens === state ? lastFailed : undefined;
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    let timer: unknown;
    const arm = () => {
      timer = setTimeout(() => {
        // A change in fetch is released by its answer (or failure) only; one that never reached
        // fetch (a later middleware answered or failed it) or whose answer never reached this
        // middleware, when the timer fires.
        if (changeFetches > 0 && changing?.id === id) arm();
        else releaseRefreshes(id);
      }, PASSWORD_CHANGE_HOLD_MS);
      (timer as { unref?: () => void }).unref?.();
    };
    arm();
    changing = {
      id,
      generation,
      done,
      release: () => {
        clearTimeout(timer as Parameters<typeof clearTimeout>[0]);
        release();
      },
    };
    return failed?.error;
  }
  function releaseRefreshes(id: string | undefined) {
    if (id === undefined || changing?.id !== id) return;
    const held = changing;
    changing = undefined;
    held.release();
  }

  /**
   * The tokens to send now: refreshed first when due (a failed early refresh keeps a valid token).
   * `failed`: the failure of a refresh the caller waited for, which stands for a refresh now.
   */
  async function current(g: number, owner?: string, failed?: unknown): Promise<Tokens | undefined> {
    if (generation !== g) throw new AuthError("signed out or in again while the request waited");
    const t = state;
    if (!t || !due(t)) return t;
    try {
      if (failed !== undefined) throw failed;
      await refresh(owner, t.accessToken);
    } catch (err) {
      if (generation !== g) throw new AuthError("signed out or in again while the request waited for a refresh", { cause: err });
      if (err instanceof SessionEndedError || !state || now() >= state.expiresAt) throw err;
      return state; // not expired yet: try with it
    }
    if (generation !== g) throw new AuthError("signed out or in again while the request waited for a refresh");
    return state;
  }

  /** After a 401 to a request sent with `s`: forget the tokens if the server says that session is over. */
  async function ended(code: string | undefined, s: Pick<Sent, "generation" | "epoch">) {
    if ((code === "session_revoked" || code === "session_expired") && s.generation === generation && s.epoch === epoch) {
      await end();
    }
  }

  /**
   * What a response (the first or the retried one) tells of the session: a sign-in's or a
   * password change's grant, a logout, a session that is over.
   */
  async function settle(method: string, schemaPath: string, response: Response, s: Sent | undefined) {
    if (method === "POST" && response.ok && schemaPath === "/v1/auth/login") {
      // A sign-in made with this client: its grant replaces the tokens.
      const grant: components["schemas"]["SessionGrant"] = await response.clone().json();
      if (grant.transport === "bearer") await begin(fromGrant(grant));
      return;
    }
    if (!s) return;
    if (method === "POST" && response.ok && schemaPath === "/v1/auth/password") {
      // A password change made with this session: it moved to a new server session.
      const grant: components["schemas"]["SessionGrant"] = await response.clone().json();
      if (grant.transport !== "bearer" || s.generation !== generation) return;
      const tokens = fromGrant(grant);
      state = tokens;
      epoch++;
      releaseRefreshes(s.owner); // they now use the new session's refresh token
      await deliver(tokens);
      return;
    }
    if (method === "POST" && response.status === 204) {
      if (schemaPath === "/v1/auth/logout" && s.epoch === epoch && s.generation === generation) await end();
      if (schemaPath === "/v1/auth/logout-all" && s.generation === generation) await end();
      return;
    }
    if (response.status === 401) await ended(problemCode(await response.clone().text()), s);
  }

  const isPasswordChange = (request: Request, schemaPath: string) => request.method === "POST" && schemaPath === "/v1/auth/password";

  const middleware: Middleware = {
    async onRequest({ request, schemaPath, id, options: call }) {
      if (PUBLIC_OPERATIONS.has(`${request.method} ${schemaPath}`) || request.headers.has("Authorization")) return;
      if (originOf(request.url) !== origin) return; // never the token to another server
      const g = generation;
      const owner = isPasswordChange(request, schemaPath) ? id : undefined;
      // A password change moves the session: no refresh may run beside it (one that reached the
      // server after it would be told the session was revoked).
      // A refresh it waited for that failed: its failure, not a second refresh at once.
      const failed = owner && state ? await holdRefreshes(owner) : undefined;
      try {
        const t = await current(g, owner, failed);
        if (!t) {
          releaseRefreshes(owner);
          return;
        }
        request.headers.set("Authorization", `Bearer ${t.accessToken}`);
        // The copy is made before fetch reads the body.
        sent.set(call, { copy: request.clone(), accessToken: t.accessToken, generation, epoch, owner });
        return request;
      } catch (err) {
        releaseRefreshes(owner);
        throw err;
      }
    },
    async onResponse({ request, response, schemaPath, options: client }) {
      const s = sent.get(client);
      sent.delete(client);
      try {
        if (originOf(request.url) !== origin) return;
        if (response.status !== 401 || !s) {
          await settle(request.method, schemaPath, response, s);
          return;
        }
        const text = await response.text();
        const unchanged = () => new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
        const code = problemCode(text);
        if (code !== "token_expired") {
          await ended(code, s);
          return unchanged();
        }
        // Refresh unless another request already did since this one was sent; then retry once,
        // in the generation this request was sent in only (else its 401 is the answer).
        if (s.generation !== generation || !state) return unchanged();
        try {
          await refresh(s.owner, s.accessToken);
        } catch (err) {
          if (s.generation !== generation) return unchanged();
          throw err;
        }
        const fresh = state;
        if (s.generation !== generation || !fresh) return unchanged();
        const retry = new Request(s.copy, { headers: new Headers(s.copy.headers) });
        retry.headers.set("Authorization", `Bearer ${fresh.accessToken}`);
        const again = await client.fetch(retry);
        await settle(request.method, schemaPath, again, { ...s, accessToken: fresh.accessToken, epoch });
        return again;
      } finally {
        releaseRefreshes(s?.owner);
      }
    },
    onError({ options: call }) {
      const s = sent.get(call);
      sent.delete(call);
      releaseRefreshes(s?.owner);
    },
  };

  const isChangeFetch = (request: Request) =>
    request.method === "POST" && originOf(request.url) === origin && new URL(request.url).pathname.endsWith("/v1/auth/password");
  const hook = (inner: Fetch): Fetch =>
    async (request, more) => {
      if (!isChangeFetch(request)) return inner(request, more);
      changeFetches++;
      try {
        return await inner(request, more);
      } finally {
        changeFetches--;
      }
    };

  const self = createClient<paths>(init);
  self.use(middleware);

  const session: Auth = {
    middleware,
    baseUrl,
    async login(credentials) {
      const { data, error, response } = await self.POST("/v1/auth/login", { body: { ...credentials, transport: "bearer" } });
      if (data?.transport === "bearer") return data; // the middleware kept its tokens
      throw new AuthError(`sign-in failed: ${response.status} ${error?.code ?? ""}`.trim(), { status: response.status, problem: error });
    },
    async logout() {
      if (!state) return;
      const g = generation;
      try {
        const { error, response } = await self.POST("/v1/auth/logout");
        if (response.status !== 204 && !(response.status === 401 && error && ENDED.has(error.code))) {
          throw new AuthError(`logout failed: ${response.status} ${error?.code ?? ""}`.trim(), { status: response.status, problem: error });
        }
      } catch (err) {
        if (!(err instanceof SessionEndedError)) throw err;
      } finally {
        if (generation === g) await end(); // not a session signed in meanwhile
      }
    },
    refresh: () => refresh(),
    tokens: () => state,
  };
  fetchHooks.set(session, hook);
  return session;
}

/**
 * call(signal), or a TimeoutError once `ms` have passed, whether or not the call heeds the signal
 * (as AbortSignal.timeout, but its timer keeps Node's event loop alive while the call is pending).
 */
function withTimeout<T>(ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const reason = new DOMException(`no answer within ${ms} ms`, "TimeoutError");
      controller.abort(reason);
      reject(reason);
    }, ms);
    call(controller.signal)
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
  });
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
