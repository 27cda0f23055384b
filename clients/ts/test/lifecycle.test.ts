// Drives the session lifecycle against a real server with the generated client, managing the
// tokens by hand (auth.test.ts has the middleware that does it). BOXOFFICE_URL names the server
// (started by .ci/run, or by hand: go run ./cmd/boxoffice).
import assert from "node:assert/strict";
import { test } from "node:test";
import { bearer, createBoxofficeClient } from "../src/index.js";
import { baseUrl } from "./helpers.js";

test("register, login, patch with If-Match, refresh, list, logout", async () => {
  const api = createBoxofficeClient(baseUrl);
  let token: string | undefined;
  api.use(bearer(() => token));

  const username = `ts-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const password = "typescript-client-password";

  const reg = await api.POST("/v1/users", { body: { username, password, display_name: "TS Client" } });
  assert.equal(reg.response.status, 201);
  assert.equal(reg.data?.username, username);

  const login = await api.POST("/v1/auth/login", { body: { username, password, device_name: "node" } });
  assert.equal(login.response.status, 200, JSON.stringify(login.error));
  // SessionGrant is told apart by `transport`; assert.ok narrows it to the TokenResponse.
  assert.ok(login.data?.transport === "bearer", "a bearer login answers a TokenResponse");
  token = login.data.access_token;
  assert.equal(login.data.token_type, "Bearer");
  assert.match(login.data.refresh_token, /^bxr_/);

  const current = await api.GET("/v1/session");
  assert.equal(current.response.status, 200);
  const etag = current.response.headers.get("ETag");
  assert.equal(etag, '"0"');

  const patched = await api.PATCH("/v1/session/data", {
    params: { header: { "If-Match": etag! } },
    body: { cart: { show: 42, seats: ["F7", "F8"] }, theme: "dark" },
    headers: { "Content-Type": "application/merge-patch+json" },
  });
  assert.equal(patched.response.status, 200, JSON.stringify(patched.error));
  assert.deepEqual(patched.data?.data.cart, { show: 42, seats: ["F7", "F8"] });
  assert.equal(patched.response.headers.get("ETag"), '"1"');

  const stale = await api.PATCH("/v1/session/data", {
    params: { header: { "If-Match": etag! } },
    body: { theme: "light" },
  });
  assert.equal(stale.response.status, 412);
  assert.equal(stale.error?.code, "precondition_failed");

  const refreshed = await api.POST("/v1/auth/refresh", { body: { refresh_token: login.data.refresh_token } });
  assert.equal(refreshed.response.status, 200, JSON.stringify(refreshed.error));
  assert.ok(refreshed.data?.transport === "bearer", "a bearer refresh answers a TokenResponse");
  assert.notEqual(refreshed.data.refresh_token, login.data.refresh_token);
  assert.equal(refreshed.data.session.data.theme, "dark");
  token = refreshed.data.access_token;

  const list = await api.GET("/v1/sessions", { params: { query: { limit: 10 } } });
  assert.equal(list.response.status, 200);
  assert.equal(list.data?.items.length, 1);
  const item = list.data?.items[0];
  assert.ok(item);
  assert.equal(item.current, true);
  assert.equal(Object.hasOwn(item, "data"), false, "list items carry no session data");
  assert.equal(list.data?.next_cursor, null, "a single page has no next cursor");
  const badLimit = await api.GET("/v1/sessions", { params: { query: { limit: 101 } } });
  assert.equal(badLimit.response.status, 422);
  assert.ok(badLimit.error?.errors?.limit);

  const logout = await api.POST("/v1/auth/logout");
  assert.equal(logout.response.status, 204);

  const after = await api.GET("/v1/session");
  assert.equal(after.response.status, 401);
  assert.equal(after.error?.code, "session_revoked");
});
