// The boxoffice TypeScript client: types generated from openapi.yaml by openapi-typescript
// (src/schema.d.ts, regenerate with `npm run generate`), a typed fetch from openapi-fetch, and
// auth(), the bearer-session middleware (src/auth.ts).
import createClient, { type Middleware } from "openapi-fetch";
import { DEFAULT_BASE_URL, originOf, type Auth } from "./auth.js";
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
 * openapi.yaml, http://localhost:8080). With `auth` (from auth(), for the same origin: else it
 * throws) its requests carry the session's access token, refreshed as needed, and are made with
 * `credentials: "omit"`: a browser sends no cookies of its own beside the token (the API takes
 * the token once, never in a cookie and a header together).
 */
export function createBoxofficeClient(
  baseUrl: string = DEFAULT_BASE_URL,
  init: { fetch?: (request: Request) => Promise<Response>; auth?: Auth } = {},
) {
  if (init.auth && originOf(baseUrl) !== originOf(init.auth.baseUrl)) {
    throw new TypeError(`createBoxofficeClient: the client's base URL ${baseUrl} and auth()'s ${init.auth.baseUrl} are not the same origin`);
  }
  const client = createClient<paths>({ baseUrl, fetch: init.fetch, ...(init.auth ? { credentials: "omit" as const } : {}) });
  if (init.auth) client.use(init.auth.middleware);
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
