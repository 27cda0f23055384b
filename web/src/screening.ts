// A screening: the live seat map, selecting and holding seats, the hold's countdown, and
// checkout with the test payment provider.
import { ApiError, call, idempotencyKey } from "./api";
import { act, app, cinema, movie, notify, rememberedHold, rememberHold, requireSignIn, screening } from "./app";
import { append, fill, h } from "./dom";
import { localTime, minutes, money } from "./format";
import { LiveSeatMap, type LiveState } from "./live";
import { SeatMapView, legend } from "./seatmap";
import type { Hold, Order } from "./types";

const liveText: Record<LiveState, string> = {
  connecting: "Connecting to live updates…",
  open: "Live: seats change here as people book them.",
  reconnecting: "Live updates interrupted; reconnecting…",
};

// What the user had selected on each screening, kept while they go and sign in.
const selections = new Map<string, string[]>();

export async function screeningView(main: HTMLElement, id: string): Promise<() => void> {
  const s = await screening(id);
  const [m, c] = await Promise.all([movie(s.movie_id), cinema(s.cinema_id)]);
  const hall = c.halls.find((x) => x.id === s.hall_id)?.name ?? s.hall_id;
  const price = (category: string) => s.prices.find((p) => p.category === category);

  let selection = selections.get(id) ?? [];
  let hold: Hold | null = null;
  let deadline = 0; // performance.now() at which the hold ends: never the device's wall clock
  let ticker = 0;
  // The purchase being attempted: its Idempotency-Key is reused by every retry of it.
  let attempt: { holdId: string; token: string; key: string } | null = null;

  const liveLine = h("p", { class: "live", "data-live": "connecting" }, liveText.connecting);
  const map = new SeatMapView((ids) => {
    selection = ids;
    selections.set(id, ids);
    drawSelection();
  });
  const legendBox = h("div", {});
  const selectionBox = h("section", { class: "panel", "aria-labelledby": "sel-h" });
  const holdBox = h("section", { class: "panel", id: "hold", "aria-labelledby": "hold-h", hidden: true });
  const orderBox = h("section", { class: "panel", id: "order", tabindex: "-1", hidden: true });
  const announce = h("p", { class: "visually-hidden", "aria-live": "polite" });

  append(main,
    h("p", {}, h("a", { href: `#/movie/${m.id}` }, `← ${m.title}: all screenings`)),
    h("h1", {}, m.title),
    h("p", { class: "meta" }, `${localTime(s.starts_at, c.time_zone)} · ${c.name}, ${c.city} · ${hall}`),
    h("p", { class: "meta" }, "Prices: ", s.prices.map((p) => `${p.category} ${money(p)}`).join(", ")),
    s.status === "cancelled" ? h("p", { class: "warning" }, "This screening was cancelled.") : null,
    liveLine,
    h("div", { class: "booking" },
      h("div", { class: "map-column" }, map.element, legendBox),
      h("div", { class: "side-column" }, selectionBox, holdBox, orderBox),
    ),
    announce,
  );

  const live = new LiveSeatMap(id, {
    snapshot(snap) {
      map.draw(snap.seats);
      map.setSelection(selection);
      if (!legendBox.firstChild) {
        const cats = [...new Set(snap.seats.map((x) => x.category))];
        fill(legendBox, legend(cats, snap.seats.some((x) => x.accessible), snap.seats.some((x) => x.group_id)));
      }
    },
    change(seats) {
      map.update(seats);
    },
    state(st) {
      liveLine.dataset.live = st;
      liveLine.textContent = liveText[st];
    },
  });

  function drawSelection() {
    const seats = selection.map((x) => map.seat(x)).filter((x) => x !== undefined);
    const total = seats.reduce((sum, x) => sum + (price(x.category)?.amount ?? 0), 0);
    const held = hold?.seat_ids ?? [];
    const same = held.length === seats.length && seats.every((x) => held.includes(x.id));
    const label = !app.me ? "Sign in to hold seats" : same ? "Held for you: pay below" : hold ? "Hold these seats instead" : "Hold seats";
    const button = h("button", { type: "button", id: "hold-button", disabled: !seats.length || same }, label);
    button.addEventListener("click", () => act(button, doHold));
    fill(selectionBox,
      h("h2", { id: "sel-h" }, "Your selection"),
      seats.length
        ? h("p", { id: "selected-seats" }, seats.map((x) => x.label).join(", "), " · ",
          h("strong", {}, money({ amount: total, currency: s.prices[0]?.currency ?? "EUR" })))
        : h("p", {}, "Choose seats on the map (arrow keys move, Space selects)."),
      button,
    );
  }

  async function doHold() {
    if (!app.me) return requireSignIn();
    const r = await call<Hold>("POST", `/v1/screenings/${encodeURIComponent(id)}/holds`, { body: { seat_ids: selection } })
      .catch((e) => {
        if (e instanceof ApiError && e.code === "seats_unavailable") void live.resync().catch(() => {});
        throw e;
      });
    setHold(r.body);
    announce.textContent = `Seats ${r.body.seat_ids.join(", ")} are held for you for ${minutes(r.body.expires_in_seconds)} minutes.`;
    await live.resync(); // our own change, at once (the stream brings it too)
  }

  function setHold(next: Hold | null) {
    hold = next && next.status === "active" && next.expires_in_seconds > 0 ? next : null;
    clearInterval(ticker);
    rememberHold(id, hold?.id ?? null);
    map.setMine(hold?.seat_ids ?? []);
    if (hold) {
      // Count down from the server's expires_in_seconds, measured from when the reply arrived.
      deadline = performance.now() + hold.expires_in_seconds * 1000;
      selection = [...hold.seat_ids];
      map.setSelection(selection);
      ticker = window.setInterval(tick, 250);
    }
    drawHold();
    drawSelection();
  }

  function tick() {
    const left = (deadline - performance.now()) / 1000;
    const el = document.getElementById("countdown");
    if (el) el.textContent = minutes(left);
    if (left <= 0) {
      setHold(null);
      notify("Your hold expired: the seats are free for others again.", "info");
      void live.resync().catch(() => {});
    }
  }

  function drawHold() {
    holdBox.hidden = !hold;
    if (!hold) return fill(holdBox);
    const h0 = hold;
    const release = h("button", { type: "button", class: "secondary" }, "Release seats");
    release.addEventListener("click", () => act(release, async () => {
      await call("DELETE", `/v1/holds/${encodeURIComponent(h0.id)}`);
      selection = [];
      selections.delete(id);
      map.setSelection([]);
      setHold(null);
      await live.resync();
    }));
    const form = h("form", { class: "checkout" },
      h("label", { for: "payment" }, "Payment (test provider, no real money)"),
      h("select", { id: "payment", name: "payment" },
        h("option", { value: "test_success" }, "Test card that pays"),
        h("option", { value: "test_decline" }, "Test card that is declined"),
      ),
      h("button", { type: "submit", id: "pay-button" }, `Pay ${money(h0.total)}`),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void act(form, () => pay((form.elements.namedItem("payment") as HTMLSelectElement).value));
    });
    fill(holdBox,
      h("h2", { id: "hold-h" }, "Held for you"),
      h("p", {}, `Seats ${h0.seat_ids.join(", ")} · ${money(h0.total)}`),
      h("p", { class: "countdown" }, "Time left to pay: ",
        h("span", { id: "countdown", role: "timer", "aria-live": "off" }, minutes(h0.expires_in_seconds))),
      form,
      release,
    );
  }

  async function pay(token: string) {
    if (!hold) return;
    if (!attempt || attempt.holdId !== hold.id || attempt.token !== token) {
      attempt = { holdId: hold.id, token, key: idempotencyKey() };
    }
    let order: Order;
    try {
      const r = await call<Order>("POST", "/v1/orders", {
        headers: { "Idempotency-Key": attempt.key },
        body: { hold_id: hold.id, payment: { method: "test", token } },
      });
      order = r.body;
    } catch (e) {
      // A lost answer, a 503 or a request still in flight: the same purchase, so "Pay" again
      // sends the same key (never a second charge). Any other answer ends this attempt.
      const retry = e instanceof ApiError && (e.status === 0 || e.status === 503 || e.code === "idempotency_key_in_flight");
      if (!retry) attempt = null;
      if (e instanceof ApiError && e.code === "hold_expired") setHold(null);
      throw e;
    }
    attempt = null;
    for (let i = 0; order.status === "pending" && i < 60; i++) {
      await new Promise((r) => setTimeout(r, 2000));
      order = (await call<Order>("GET", `/v1/orders/${encodeURIComponent(order.id)}`)).body;
    }
    selection = [];
    selections.delete(id);
    setHold(null);
    map.setSelection([]);
    drawOrder(order);
    await live.resync();
  }

  function drawOrder(o: Order) {
    orderBox.hidden = false;
    const label = (seat: string) => map.seat(seat)?.label ?? seat;
    fill(orderBox,
      h("h2", {}, o.status === "confirmed" ? "Paid: your tickets" : `Order ${o.status}`),
      h("ul", { class: "tickets" }, ...o.tickets.map((t) => h("li", { class: "ticket", "data-ticket": t.id },
        h("span", {}, `Seat ${label(t.seat_id)}`), " ", h("code", { class: "code" }, t.code)))),
      h("p", {}, h("a", { href: "#/orders" }, "See all my orders")),
    );
    orderBox.focus();
  }

  drawSelection();
  try {
    await live.start();
  } catch (e) {
    live.stop();
    throw e;
  }
  const remembered = app.me ? rememberedHold(id) : null;
  if (remembered) {
    try {
      setHold((await call<Hold>("GET", `/v1/holds/${encodeURIComponent(remembered)}`)).body);
    } catch {
      rememberHold(id, null);
    }
  }
  return () => {
    live.stop();
    clearInterval(ticker);
  };
}
