// The client that @hey-api/openapi-ts generates from openapi.yaml (src/generated, `npm run
// generate`), driven against a real server: BOXOFFICE_URL (.ci/run starts one; by hand: go run
// ./cmd/boxoffice). It checks what another generator makes of the contract: operation names, the
// default base URL, the media type of the session-data patch, and that a token given as `auth`
// travels only in the Authorization header.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createClient, createConfig } from "../src/generated/client/index.js";
import { client as defaultClient } from "../src/generated/client.gen.js";
import * as sdk from "../src/generated/sdk.gen.js";
import { createUser, getOpenApiJson, getSession, login, logout, patchSessionData } from "../src/generated/index.js";

const baseUrl = process.env.BOXOFFICE_URL ?? "http://localhost:8080";

/** One request as the client sent it. */
interface Sent {
  method: string;
  path: string;
  authorization: string | null;
  cookie: string | null;
  contentType: string | null;
  status: number;
}

/** A client of the server under test whose fetch records every request. */
function recordedClient() {
  const log: Sent[] = [];
  const recording: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const response = await fetch(request);
    log.push({
      method: request.method,
      path: new URL(request.url).pathname,
      authorization: request.headers.get("Authorization"),
      cookie: request.headers.get("Cookie"),
      contentType: request.headers.get("Content-Type"),
      status: response.status,
    });
    return response;
  };
  return { log, client: createClient(createConfig({ baseUrl, fetch: recording })) };
}

test("generated names and defaults", async () => {
  // servers[0] is absolute, so the generated default works outside a browser.
  assert.equal(defaultClient.getConfig().baseUrl, "http://localhost:8080");
  // Operation ids become the function names, camel case as written (getOpenApiJson, not getOpenApijson).
  const names = Object.keys(sdk).sort();
  for (const name of ["getOpenApiJson", "getOpenApiYaml", "refreshToken", "patchSessionData", "getSession", "login", "logout"]) {
    assert.ok(names.includes(name), `${name} among ${names.join(", ")}`);
  }
  assert.deepEqual(names.filter((n) => /[A-Z]{2}/.test(n)), [], "no run of capitals (getOpenAPIJson and the like)");
  const { client } = recordedClient();
  const doc = await getOpenApiJson({ client });
  assert.equal(doc.response.status, 200);
});

test("register, login, session, merge patch, logout; the token only in Authorization", async () => {
  const { log, client } = recordedClient();
  const username = `hey-${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
  const password = "hey-api-client-password";

  const reg = await createUser({ client, body: { username, password, display_name: "Hey API" } });
  assert.equal(reg.response.status, 201, JSON.stringify(reg.error));
  assert.equal(reg.data?.username, username);

  const signedIn = await login({ client, body: { username, password, device_name: "hey-api" } });
  assert.equal(signedIn.response.status, 200, JSON.stringify(signedIn.error));
  // SessionGrant is a union told apart by `transport`: asserting it narrows to the TokenResponse.
  assert.ok(signedIn.data?.transport === "bearer", "a bearer sign-in answers a TokenResponse");
  const token = signedIn.data.access_token;
  assert.match(signedIn.data.refresh_token, /^bxr_/);
  assert.equal(log.at(-1)?.authorization, null, "sign-in has no security requirement");

  // The token given as the client's `auth` option, as the generated docs suggest.
  client.setConfig({ auth: () => token });
  const current = await getSession({ client });
  assert.equal(current.response.status, 200, JSON.stringify(current.error));
  assert.equal(current.data?.id, signedIn.data.session_id);
  const etag = current.response.headers.get("ETag");
  assert.equal(etag, '"0"');

  // No Content-Type given: the generated function picks the operation's first media type.
  const patched = await patchSessionData({
    client,
    headers: { "If-Match": etag ?? "" },
    body: { cart: { show: 42, seats: ["F7", "F8"] }, theme: "dark" },
  });
  assert.equal(patched.response.status, 200, JSON.stringify(patched.error));
  assert.equal(log.at(-1)?.contentType, "application/merge-patch+json");
  assert.deepEqual(patched.data?.data, { cart: { show: 42, seats: ["F7", "F8"] }, theme: "dark" });
  assert.equal(patched.response.headers.get("ETag"), '"1"');
  const stale = await patchSessionData({ client, headers: { "If-Match": etag ?? "" }, body: { theme: "light" } });
  assert.equal(stale.response.status, 412);
  assert.equal(stale.error?.code, "precondition_failed");

  const out = await logout({ client });
  assert.equal(out.response.status, 204, JSON.stringify(out.error));
  const after = await getSession({ client });
  assert.equal(after.response.status, 401);
  assert.equal(after.error?.code, "session_revoked");

  // Every authenticated request carried the token in Authorization, and no request a Cookie.
  const authenticated = log.filter((s) => s.path !== "/v1/users" && s.path !== "/v1/auth/login");
  assert.equal(authenticated.length, 5);
  for (const s of authenticated) assert.equal(s.authorization, `Bearer ${token}`, `${s.method} ${s.path}`);
  for (const s of log) assert.equal(s.cookie, null, `${s.method} ${s.path} sent no Cookie header`);
});
