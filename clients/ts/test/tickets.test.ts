// Drives browse → seat map → hold → release, and a conflicting hold; then browse → hold → order
// → my orders → cancel; against a real server serving the demo catalogue (the embedded database
// of a server started with no configuration, as .ci/run does; or by hand: go run ./cmd/boxoffice)
// with the generated client. BOXOFFICE_URL names the server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { auth, createBoxofficeClient, type components } from "../src/index.js";
import { baseUrl, password, uniqueName } from "./helpers.js";

type SeatMapSeat = components["schemas"]["SeatMapSeat"];
type Order = components["schemas"]["Order"];

/** signIn registers a fresh user and returns a client signed in as them (auth() keeps the tokens). */
async function signIn(label: string) {
  const session = auth({ baseUrl });
  const api = createBoxofficeClient(baseUrl, { auth: session });
  const username = uniqueName(label);
  const reg = await api.POST("/v1/users", { body: { username, password } });
  assert.equal(reg.response.status, 201, JSON.stringify(reg.error));
  await session.login({ username, password, device_name: "node" });
  return api;
}

/**
 * freePair picks two seats a client would offer for "2 seats, side by side": available, sold
 * alone (no group_id) and not wheelchair spaces, adjacent in one block of a row (no aisle
 * between them), and stranding no single free seat beside them (the orphan rule). The seat map
 * lists seats by y then x.
 */
function freePair(seats: SeatMapSeat[]): [string, string] | undefined {
  const free = (i: number, y: number, x: number) =>
    i >= 0 && i < seats.length && seats[i].y === y && seats[i].x === x && seats[i].status === "available";
  const plain = (s: SeatMapSeat) => s.status === "available" && s.group_id === undefined && !s.accessible;
  for (let i = 0; i + 1 < seats.length; i++) {
    const a = seats[i];
    const b = seats[i + 1];
    if (b.y !== a.y || b.x !== a.x + 1 || !plain(a) || !plain(b)) continue;
    // A free neighbour must have a free neighbour of its own on its far side.
    if ((free(i - 1, a.y, a.x - 1) && !free(i - 2, a.y, a.x - 2)) || (free(i + 2, b.y, b.x + 1) && !free(i + 3, b.y, b.x + 2))) {
      continue;
    }
    return [a.id, b.id];
  }
  return undefined;
}

function statusOf(seats: SeatMapSeat[], id: string) {
  return seats.find((s) => s.id === id)?.status;
}

test("browse, seat map with If-None-Match, hold, conflict, release", async () => {
  const alice = await signIn("alice");
  const bob = await signIn("bob");

  // Movies, two at a time, following next_cursor once.
  const page1 = await alice.GET("/v1/movies", { params: { query: { limit: 2 } } });
  assert.equal(page1.response.status, 200, JSON.stringify(page1.error));
  assert.ok(page1.data);
  assert.equal(page1.data.items.length, 2);
  assert.ok(page1.data.next_cursor, "more than two demo movies: a next page");
  const page2 = await alice.GET("/v1/movies", { params: { query: { limit: 2, cursor: page1.data.next_cursor } } });
  assert.equal(page2.response.status, 200, JSON.stringify(page2.error));
  assert.ok(page2.data && page2.data.items.length > 0);
  const titles = [...page1.data.items, ...page2.data.items].map((m) => m.title);
  assert.deepEqual(titles, [...new Set(titles)].sort(), "two pages of distinct movies, by title");
  const movie = page1.data.items[0];

  // The movie's screenings over the next week, the window given with a non-UTC offset.
  const from = new Date();
  const offset = (d: Date) => new Date(d.getTime() + 2 * 3600_000).toISOString().replace(/\.\d+Z$/, "+02:00");
  const list = await alice.GET("/v1/screenings", {
    params: { query: { movie_id: movie.id, from: offset(from), to: offset(new Date(from.getTime() + 7 * 86400_000)), limit: 100 } },
  });
  assert.equal(list.response.status, 200, JSON.stringify(list.error));
  assert.ok(list.data && list.data.items.length > 0, `screenings of ${movie.id}`);
  for (const s of list.data.items) assert.equal(s.movie_id, movie.id);
  // One that cannot start while the test runs (a started screening takes no holds).
  const screening = list.data.items.find(
    (s) => s.status === "scheduled" && Date.parse(s.starts_at) > Date.now() + 3600_000,
  );
  assert.ok(screening, `a screening of ${movie.id} more than an hour away`);
  const path = { params: { path: { id: screening.id } } };

  // The seat map, then again with its ETag: 304 without a body.
  const map = await alice.GET("/v1/screenings/{id}/seats", path);
  assert.equal(map.response.status, 200, JSON.stringify(map.error));
  assert.ok(map.data);
  assert.equal(map.data.screening_id, screening.id);
  const etag = map.response.headers.get("ETag");
  assert.ok(etag, "the seat map has an ETag");
  const same = await alice.GET("/v1/screenings/{id}/seats", {
    params: { path: { id: screening.id }, header: { "If-None-Match": etag } },
  });
  assert.equal(same.response.status, 304);
  assert.equal(same.data, undefined);
  assert.equal(same.response.headers.get("ETag"), etag);

  const pair = freePair(map.data.seats);
  assert.ok(pair, "two adjacent free seats");
  const spare = map.data.seats.find((s) => s.status === "available" && !s.group_id && !s.accessible && !pair.includes(s.id));
  assert.ok(spare, "a third free seat");
  const price = new Map(screening.prices.map((p) => [p.category, p]));
  const want = { amount: 0, currency: screening.prices[0].currency };
  for (const s of map.data.seats) if (pair.includes(s.id)) want.amount += price.get(s.category)!.amount;

  // Hold them: 201 with the hold and its Location; the seat map changed.
  const held = await alice.POST("/v1/screenings/{id}/holds", { ...path, body: { seat_ids: pair } });
  assert.equal(held.response.status, 201, JSON.stringify(held.error));
  assert.ok(held.data);
  const hold = held.data;
  assert.equal(hold.status, "active");
  assert.equal(hold.screening_id, screening.id);
  assert.deepEqual(hold.seat_ids, pair);
  assert.deepEqual(hold.total, want);
  assert.ok(hold.expires_in_seconds > 0 && hold.expires_in_seconds <= 600, `expires_in_seconds ${hold.expires_in_seconds}`);
  assert.ok(Date.parse(hold.expires_at) > Date.parse(hold.server_time));
  assert.ok(held.response.headers.get("Location")?.endsWith(`/v1/holds/${hold.id}`));
  const changed = await alice.GET("/v1/screenings/{id}/seats", {
    params: { path: { id: screening.id }, header: { "If-None-Match": etag } },
  });
  assert.equal(changed.response.status, 200);
  assert.ok(changed.data && changed.data.version > map.data.version);
  assert.notEqual(changed.response.headers.get("ETag"), etag);
  for (const id of pair) assert.equal(statusOf(changed.data.seats, id), "held");

  // Someone else asking for one of those seats (and a free one) gets 409 naming only the
  // taken seat, and holds nothing.
  const clash = await bob.POST("/v1/screenings/{id}/holds", { ...path, body: { seat_ids: [pair[1], spare.id] } });
  assert.equal(clash.response.status, 409);
  assert.equal(clash.data, undefined);
  assert.equal(clash.error?.code, "seats_unavailable");
  assert.deepEqual(clash.error?.seat_ids, [pair[1]]);
  const still = await bob.GET("/v1/screenings/{id}/seats", path);
  assert.ok(still.data);
  assert.equal(statusOf(still.data.seats, spare.id), "available");
  const notHis = await bob.GET("/v1/holds/{id}", { params: { path: { id: hold.id } } });
  assert.equal(notHis.response.status, 404);
  assert.equal(notHis.error?.code, "not_found");

  // Read it back, release it (204), read it again: released, and the seats are free.
  const read = await alice.GET("/v1/holds/{id}", { params: { path: { id: hold.id } } });
  assert.equal(read.response.status, 200, JSON.stringify(read.error));
  assert.equal(read.data?.status, "active");
  assert.deepEqual(read.data?.seat_ids, pair);
  const released = await alice.DELETE("/v1/holds/{id}", { params: { path: { id: hold.id } } });
  assert.equal(released.response.status, 204, JSON.stringify(released.error));
  const again = await alice.GET("/v1/holds/{id}", { params: { path: { id: hold.id } } });
  assert.equal(again.response.status, 200, JSON.stringify(again.error));
  assert.equal(again.data?.status, "released");
  assert.equal(again.data?.expires_in_seconds, 0);
  const free = await alice.GET("/v1/screenings/{id}/seats", path);
  assert.ok(free.data);
  for (const id of pair) assert.equal(statusOf(free.data.seats, id), "available");

  // Now the other user gets them.
  const his = await bob.POST("/v1/screenings/{id}/holds", { ...path, body: { seat_ids: pair } });
  assert.equal(his.response.status, 201, JSON.stringify(his.error));
  assert.deepEqual(his.data?.seat_ids, pair);
  const done = await bob.DELETE("/v1/holds/{id}", { params: { path: { id: his.data!.id } } });
  assert.equal(done.response.status, 204);
});

test("browse, hold, order with an Idempotency-Key, my orders, cancel", async () => {
  const carol = await signIn("carol");
  const dave = await signIn("dave");

  // Browse: the movies, and the first with a screening more than three hours away (orders can be
  // cancelled until two hours before the start).
  const movies = await carol.GET("/v1/movies", { params: { query: { limit: 100 } } });
  assert.equal(movies.response.status, 200, JSON.stringify(movies.error));
  assert.ok(movies.data && movies.data.items.length > 0);
  let screening: components["schemas"]["Screening"] | undefined;
  for (const movie of movies.data.items) {
    const list = await carol.GET("/v1/screenings", { params: { query: { movie_id: movie.id, limit: 100 } } });
    assert.equal(list.response.status, 200, JSON.stringify(list.error));
    screening = list.data?.items.find(
      (s) => s.status === "scheduled" && Date.parse(s.starts_at) > Date.now() + 3 * 3600_000,
    );
    if (screening) break;
  }
  assert.ok(screening, "a screening more than three hours away");
  const path = { params: { path: { id: screening.id } } };
  const map = await carol.GET("/v1/screenings/{id}/seats", path);
  assert.equal(map.response.status, 200, JSON.stringify(map.error));
  assert.ok(map.data);
  const pair = freePair(map.data.seats);
  assert.ok(pair, "two adjacent free seats");

  // Hold them, and buy the hold with the test provider under an Idempotency-Key.
  const held = await carol.POST("/v1/screenings/{id}/holds", { ...path, body: { seat_ids: pair } });
  assert.equal(held.response.status, 201, JSON.stringify(held.error));
  assert.ok(held.data);
  const hold = held.data;
  const key = `ts-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
  const order = {
    params: { header: { "Idempotency-Key": key } },
    body: { hold_id: hold.id, payment: { method: "test", token: "test_success" } },
  };
  const bought = await carol.POST("/v1/orders", order);
  assert.equal(bought.response.status, 201, JSON.stringify(bought.error));
  assert.ok(bought.data);
  const o: Order = bought.data;
  assert.equal(o.status, "confirmed");
  assert.equal(o.hold_id, hold.id);
  assert.equal(o.screening_id, screening.id);
  assert.deepEqual(o.seat_ids, hold.seat_ids);
  assert.deepEqual(o.total, hold.total);
  assert.equal(o.payment.status, "succeeded");
  assert.equal(o.late_payment, null);
  assert.equal(o.refund, null);
  assert.deepEqual(
    o.tickets.map((t) => t.seat_id),
    o.seat_ids,
  );
  for (const t of o.tickets) {
    assert.equal(t.status, "valid");
    assert.ok(t.code.length > 0);
  }
  assert.ok(bought.response.headers.get("Location")?.endsWith(`/v1/orders/${o.id}`));
  assert.equal(bought.response.headers.get("Idempotent-Replayed"), null);

  // The same request again (a retry after a lost answer): the same order, marked as a replay.
  const replay = await carol.POST("/v1/orders", order);
  assert.equal(replay.response.status, 201, JSON.stringify(replay.error));
  assert.equal(replay.response.headers.get("Idempotent-Replayed"), "true");
  assert.deepEqual(replay.data, o);
  // The same key for another request: 422.
  const reused = await carol.POST("/v1/orders", {
    params: { header: { "Idempotency-Key": key } },
    body: { hold_id: hold.id, payment: { method: "test", token: "test_decline" } },
  });
  assert.equal(reused.response.status, 422);
  assert.equal(reused.error?.code, "idempotency_key_reused");
  const sold = await carol.GET("/v1/screenings/{id}/seats", path);
  assert.ok(sold.data);
  for (const id of pair) assert.equal(statusOf(sold.data.seats, id), "sold");

  // My orders: carol's lists it; dave has none and cannot read hers.
  const mine = await carol.GET("/v1/orders");
  assert.equal(mine.response.status, 200, JSON.stringify(mine.error));
  assert.deepEqual(
    mine.data?.items.map((x) => x.id),
    [o.id],
  );
  const his = await dave.GET("/v1/orders");
  assert.equal(his.response.status, 200);
  assert.deepEqual(his.data?.items, []);
  const notHis = await dave.GET("/v1/orders/{id}", { params: { path: { id: o.id } } });
  assert.equal(notHis.response.status, 404);
  assert.equal(notHis.error?.code, "not_found");

  // Cancel it: refunded in full, the tickets void, the seats on sale again.
  const cancelled = await carol.POST("/v1/orders/{id}/cancel", { params: { path: { id: o.id } } });
  assert.equal(cancelled.response.status, 200, JSON.stringify(cancelled.error));
  assert.ok(cancelled.data);
  assert.equal(cancelled.data.status, "cancelled");
  assert.ok(cancelled.data.refund);
  assert.deepEqual(cancelled.data.refund.amount, o.total);
  assert.equal(cancelled.data.refund.reason, "customer_cancelled");
  for (const t of cancelled.data.tickets) assert.equal(t.status, "void");
  const read = await carol.GET("/v1/orders/{id}", { params: { path: { id: o.id } } });
  assert.equal(read.response.status, 200, JSON.stringify(read.error));
  assert.equal(read.data?.status, "cancelled");
  const free = await carol.GET("/v1/screenings/{id}/seats", path);
  assert.ok(free.data);
  for (const id of pair) assert.equal(statusOf(free.data.seats, id), "available");
});
