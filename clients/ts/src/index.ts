// The boxoffice TypeScript client: types generated from openapi.yaml by openapi-typescript
// (src/schema.d.ts, regenerate with `npm run generate`) and a typed fetch from openapi-fetch.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };
export type Problem = components["schemas"]["Problem"];
export type Session = components["schemas"]["Session"];
export type TokenResponse = components["schemas"]["TokenResponse"];

/** createBoxofficeClient returns a typed client for the API at baseUrl. */
export function createBoxofficeClient(baseUrl: string, init?: { fetch?: typeof fetch }) {
  return createClient<paths>({ baseUrl, fetch: init?.fetch });
}

/** bearer is a middleware that sends the access token returned by getToken, when there is one. */
export function bearer(getToken: () => string | undefined): Middleware {
  return {
    onRequest({ request }) {
      const token = getToken();
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
}
