// The boxoffice TypeScript client: types generated from openapi.yaml by openapi-typescript
// (src/schema.d.ts, regenerate with `npm run generate`), a typed fetch from openapi-fetch, and
// auth(), the bearer-session middleware (src/auth.ts).
import createClient, { type Middleware } from "openapi-fetch";
import { DEFAULT_BASE_URL, fetchHooks, originOf, type Auth, type Fetch } from "./auth.js";
import type { components, paths } from "./schema.js";

export type { components, paths };
export type Session = components["schemas"]["Session"];
export type SessionGrant = components["schemas"]["SessionGrant"];
export type CookieSessionResponse = components["schemas"]["CookieSessionResponse"];
export {
  auth,
  AuthError,
  DEFAULT_BASE_URL,
  PUBLIC_OPERATIONS,
  SessionEndedError,
  type Auth,
  type AuthOptions,
  type LoginRequest,
  type Problem,
  type ProblemCode,
  type TokenResponse,
  type Tokens,
} from "./auth.js";

/**
 * createBoxofficeClient returns a typed client for the API at baseUrl (default: servers[0] of
 * openapi.yaml, http://localhost:8080).
 *
 * With `auth` (from auth(), for the same origin: else it throws) its requests carry the session's
 * access token, refreshed as needed, and are made with `credentials: "omit"` (a browser sends no
 * cookies of its own beside the token: the API takes the token once, never in a cookie and a
 * header together) and `redirect: "error"` (the API never redirects; a followed 307 would carry a
 * password change's or a registration's passwords, or the token, to another origin). A request
 * may still set either itself, e.g. `api.GET(path, { redirect: "follow" })`.
 *
 * Cookie sessions (`transport: "cookie"` at sign-in) use a client made WITHOUT `auth`: a browser
 * sends the session cookie by itself to a same-origin API. For an API on another origin, make
 * every request with `credentials: "include"` (e.g. `api.GET(path, { credentials: "include" })`,
 * or a middleware) and send the `X-CSRF-Token` header the
 * sign-in returned (CookieSessionResponse.csrf_token) on every unsafe request (POST, PUT, PATCH,
 * DELETE). auth() is for the bearer transport only.
 */
export function createBoxofficeClient(
  baseUrl: string = DEFAULT_BASE_URL,
  init: { fetch?: (request: Request) => Promise<Response>; auth?: Auth } = {},
) {
  const session = init.auth;
  if (session && originOf(baseUrl) !== originOf(session.baseUrl)) {
    throw new TypeError(`createBoxofficeClient: the client's base URL ${baseUrl} and auth()'s ${session.baseUrl} are not the same origin`);
  }
  if (!session) return createClient<paths>({ baseUrl, fetch: init.fetch });
  // auth() is told when a password change is in fetch (it holds refreshes for as long).
  const inner: Fetch = init.fetch ?? ((request, more) => globalThis.fetch(request, more));
  const hooked = fetchHooks.get(session)?.(inner) ?? inner;
  const client = createClient<paths>({ baseUrl, fetch: hooked, credentials: "omit", redirect: "error" });
  client.use(session.middleware);
  return client;
}

/**
 * bearer is a middleware that sends the access token returned by getToken, when there is one, for
 * tokens managed elsewhere; it never refreshes (auth() does).
 */
export function bearer(getToken: () => string | undefined): Middleware {
  return {
    onRequest({ request }) {
      const token = getToken();
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
}
