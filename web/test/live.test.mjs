// Unit tests of src/live.ts (the live seat map's version logic) under node's test runner, with
// a fake EventSource and a fake fetch: the end-to-end test (tests/web_browser_test.go) cannot
// make the server send "reset" or drop a stream on purpose.
import { build } from "esbuild";
import assert from "node:assert/strict";
import { test } from "node:test";

// Bundle src/live.ts (and src/api.ts, which it uses) for node, and load it.
const out = await build({ entryPoints: [new URL("../src/live.ts", import.meta.url).pathname], bundle: true, format: "esm", write: false, platform: "neutral" });
const { LiveSeatMap } = await import("data:text/javascript;base64," + Buffer.from(out.outputFiles[0].text).toString("base64"));

class FakeEventSource {
  static CONNECTING = 0; static OPEN = 1; static CLOSED = 2;
  static all = [];
  constructor(url) { this.url = url; this.readyState = 0; this.listeners = {}; FakeEventSource.all.push(this); }
  addEventListener(type, fn) { (this.listeners[type] ??= []).push(fn); }
  close() { this.readyState = 2; }
  emit(type, data) { for (const fn of this.listeners[type] ?? []) fn({ data: JSON.stringify(data) }); }
}
globalThis.EventSource = FakeEventSource;
globalThis.window = { setTimeout: (fn) => setTimeout(fn, 0) }; // reconnect pauses take no time here

// Seat map reads answer with the next snapshot of `snapshots`, each when its gate opens.
let snapshots = [];
globalThis.fetch = async () => {
  const next = snapshots.shift();
  assert.ok(next, "an unexpected seat map read");
  await next.gate;
  return new Response(JSON.stringify({ screening_id: "scr", version: next.version, seats: next.seats ?? [] }), {
    status: 200, headers: { "Content-Type": "application/json" },
  });
};
function snapshot(version) {
  let open;
  const gate = new Promise((r) => (open = r));
  snapshots.push({ version, gate });
  return open;
}
const tick = () => new Promise((r) => setTimeout(r, 5));
const seats = (version, status = "held") => ({ screening_id: "scr", version, seats: [{ id: "A1", status }], at: "" });

function follow() {
  const log = [];
  const live = new LiveSeatMap("scr", {
    snapshot: (m) => log.push(`snapshot ${m.version}`),
    change: (_, v) => log.push(`change ${v}`),
    state: (s) => log.push(s),
  });
  return { live, log };
}

test("follows the stream from the snapshot's version, ignoring what it has seen", async () => {
  FakeEventSource.all = [];
  snapshot(5)();
  const { live, log } = follow();
  await live.start();
  const es = FakeEventSource.all[0];
  assert.equal(es.url, "/v1/screenings/scr/seats/events?after=5");
  es.emit("ready", { screening_id: "scr", version: 5 });
  es.emit("seats", seats(6));
  es.emit("seats", seats(6)); // replayed after a reconnect
  es.emit("seats", seats(4));
  es.emit("seats", seats(7, "sold"));
  assert.deepEqual(log, ["snapshot 5", "connecting", "open", "change 6", "change 7"]);
  live.stop();
});

test("reset reads the snapshot again; events that came meanwhile apply after it if newer", async () => {
  FakeEventSource.all = [];
  snapshot(1)();
  const { live, log } = follow();
  await live.start();
  const es = FakeEventSource.all[0];
  const open = snapshot(8);
  es.emit("reset", { screening_id: "scr", version: 8 });
  es.emit("seats", seats(8)); // in the snapshot being read
  es.emit("seats", seats(9)); // after it
  await tick();
  assert.deepEqual(log, ["snapshot 1", "connecting"], "nothing applies while the snapshot is read");
  open();
  await tick();
  assert.deepEqual(log, ["snapshot 1", "connecting", "snapshot 8", "change 9"]);
  live.stop();
});

test("a missing version reads the snapshot again", async () => {
  FakeEventSource.all = [];
  snapshot(3)();
  const { live, log } = follow();
  await live.start();
  snapshot(5)();
  FakeEventSource.all[0].emit("seats", seats(5)); // 4 is missing
  await tick();
  assert.deepEqual(log, ["snapshot 3", "connecting", "snapshot 5"]);
  live.stop();
});

test("a stream the browser gave up on is opened again after the version it reached", async () => {
  FakeEventSource.all = [];
  snapshot(2)();
  const { live, log } = follow();
  await live.start();
  const first = FakeEventSource.all[0];
  first.emit("seats", seats(3));
  first.readyState = FakeEventSource.CLOSED; // e.g. the server answered 503
  snapshot(4)();
  first.listeners.error[0]({});
  await tick();
  assert.equal(FakeEventSource.all.length, 2);
  assert.equal(FakeEventSource.all[1].url, "/v1/screenings/scr/seats/events?after=4");
  assert.deepEqual(log, ["snapshot 2", "connecting", "change 3", "reconnecting", "snapshot 4", "connecting"]);
  live.stop();
});
