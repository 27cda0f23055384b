// Built from web/src by web/build.mjs (esbuild); edit the sources, not this file.

// src/api.ts
var ApiError = class extends Error {
  constructor(problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.problem = problem;
  }
  problem;
  get status() {
    return this.problem.status;
  }
  get code() {
    return this.problem.code;
  }
};
function csrfToken() {
  for (const pair of document.cookie.split(";")) {
    const [name, ...value2] = pair.trim().split("=");
    if (name === "__Host-bx_csrf" || name === "bx_csrf") return decodeURIComponent(value2.join("="));
  }
  return "";
}
var safeMethods = /* @__PURE__ */ new Set(["GET", "HEAD"]);
async function call(method, path, options = {}) {
  let resp = await send(method, path, options);
  if (resp.status === 401) {
    const problem = await problemOf(resp);
    if (problem.code !== "token_expired" || !await refresh()) throw new ApiError(problem);
    resp = await send(method, path, options);
  }
  if (!resp.ok) throw new ApiError(await problemOf(resp));
  const body = resp.status === 204 ? void 0 : await resp.json();
  return { status: resp.status, headers: resp.headers, body };
}
async function send(method, path, options) {
  const headers = { Accept: "application/json", ...options.headers };
  if (options.body !== void 0) headers["Content-Type"] = "application/json";
  if (!safeMethods.has(method)) {
    const token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
  }
  try {
    return await fetch(path, {
      method,
      headers,
      body: options.body === void 0 ? void 0 : JSON.stringify(options.body),
      credentials: "same-origin"
    });
  } catch {
    throw new ApiError({
      type: "about:blank",
      title: "Network error",
      status: 0,
      code: "network",
      detail: "The server could not be reached. Check your connection and try again."
    });
  }
}
async function problemOf(resp) {
  try {
    const p = await resp.json();
    if (p && typeof p.title === "string") return p;
  } catch {
  }
  return { type: "about:blank", title: resp.statusText || "Error", status: resp.status, code: "http_" + resp.status };
}
var refreshing = null;
function refresh() {
  refreshing ??= (async () => {
    try {
      const resp = await fetch("/v1/auth/refresh", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrfToken() }
      });
      return resp.ok;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}
async function signIn(username, password) {
  const device2 = navigator.userAgent.includes("Mobile") ? "Phone browser" : "Web browser";
  const r = await call("POST", "/v1/auth/login", {
    body: { username, password, device_name: device2, transport: "cookie" }
  });
  return r.body;
}
async function whoAmI() {
  try {
    return (await call("GET", "/v1/me")).body;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}
function idempotencyKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// src/dom.ts
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, ...children);
  return el;
}
function append(el, ...children) {
  for (const c of children) if (c != null && c !== false) el.append(c);
}
function fill(el, ...children) {
  el.replaceChildren();
  append(el, ...children);
}

// src/app.ts
var app = {
  me: null,
  /** Called when the signed-in user changes (the header redraws). */
  onAuth: (() => {
  })
};
function setMe(user) {
  app.me = user;
  document.body.dataset.auth = user ? "in" : "out";
  if (!user) forgetHolds();
  app.onAuth();
}
function notify(what, kind = "error") {
  const box = document.getElementById("notice");
  if (what === null) {
    fill(box);
    box.hidden = true;
    return;
  }
  let text = [String(what)];
  if (what instanceof ApiError) {
    const p = what.problem;
    text = [h("strong", {}, p.title), p.detail ? ` ${p.detail}` : ""];
    const fields = Object.entries(p.errors ?? {});
    if (fields.length) text.push(h("ul", {}, ...fields.map(([f, m]) => h("li", {}, `${f}: ${m}`))));
    if (p.status === 401 && app.me) setMe(null);
  } else if (what instanceof Error) {
    text = [what.message];
  }
  box.dataset.kind = kind;
  box.hidden = false;
  fill(box, ...text);
}
async function act(control, action) {
  const buttons = control instanceof HTMLFormElement ? [...control.querySelectorAll("button")] : control ? [control] : [];
  buttons.forEach((b) => b.disabled = true);
  notify(null);
  try {
    await action();
  } catch (e) {
    notify(e);
  } finally {
    buttons.forEach((b) => b.disabled = false);
  }
}
var cache = /* @__PURE__ */ new Map();
function cached(path) {
  let p = cache.get(path);
  if (!p) {
    p = call("GET", path).then((r) => r.body);
    p.catch(() => cache.delete(path));
    cache.set(path, p);
  }
  return p;
}
var movie = (id) => cached(`/v1/movies/${encodeURIComponent(id)}`);
var screening = (id) => call("GET", `/v1/screenings/${encodeURIComponent(id)}`).then((r) => r.body);
async function cinema(id) {
  const list = await cached("/v1/cinemas");
  const c = list.items.find((x) => x.id === id);
  if (!c) throw new Error(`Unknown cinema ${id}`);
  return c;
}
var cinemas = () => cached("/v1/cinemas").then((l) => l.items);
var holdKey = (screeningId) => `boxoffice.hold.${screeningId}`;
var rememberHold = (screeningId, holdId) => holdId ? sessionStorage.setItem(holdKey(screeningId), holdId) : sessionStorage.removeItem(holdKey(screeningId));
var rememberedHold = (screeningId) => sessionStorage.getItem(holdKey(screeningId));
function forgetHolds() {
  for (const k of Object.keys(sessionStorage)) if (k.startsWith("boxoffice.hold.")) sessionStorage.removeItem(k);
}
function requireSignIn() {
  sessionStorage.setItem("boxoffice.returnTo", location.hash || "#/");
  location.hash = "#/signin";
}

// src/format.ts
function money(m) {
  const f = new Intl.NumberFormat(void 0, { style: "currency", currency: m.currency });
  const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
  return f.format(m.amount / 10 ** digits);
}
function localTime(iso, timeZone) {
  return new Intl.DateTimeFormat(void 0, {
    timeZone,
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short"
  }).format(new Date(iso));
}
function localDay(iso, timeZone) {
  return new Intl.DateTimeFormat(void 0, { timeZone, weekday: "short", day: "numeric", month: "short" }).format(new Date(iso));
}
function localClock(iso, timeZone) {
  return new Intl.DateTimeFormat(void 0, { timeZone, hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}
function minutes(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// src/account.ts
function field(id, label, attrs) {
  return h("p", { class: "field" }, h("label", { for: id }, label), h("input", { id, name: id, ...attrs }));
}
function value(form, name) {
  return form.elements.namedItem(name).value;
}
async function signedIn() {
  setMe(await whoAmI());
  const back = sessionStorage.getItem("boxoffice.returnTo") ?? "#/";
  sessionStorage.removeItem("boxoffice.returnTo");
  location.hash = back === "#/signin" ? "#/" : back;
}
function signInView(main) {
  const signin = h(
    "form",
    { class: "panel", id: "signin", "aria-labelledby": "signin-h" },
    h("h2", { id: "signin-h" }, "Sign in"),
    field("signin-username", "Username", { autocomplete: "username", required: true }),
    field("signin-password", "Password", { type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit" }, "Sign in")
  );
  signin.addEventListener("submit", (e) => {
    e.preventDefault();
    void act(signin, async () => {
      await signIn(value(signin, "signin-username"), value(signin, "signin-password"));
      await signedIn();
    });
  });
  const signup = h(
    "form",
    { class: "panel", id: "signup", "aria-labelledby": "signup-h" },
    h("h2", { id: "signup-h" }, "Create an account"),
    field("signup-username", "Username (3 to 32 letters, digits, . _ -)", { autocomplete: "username", required: true, minlength: "3", maxlength: "32" }),
    field("signup-name", "Display name (optional)", { autocomplete: "nickname", maxlength: "64" }),
    field("signup-password", "Password (at least 8 characters)", { type: "password", autocomplete: "new-password", required: true, minlength: "8" }),
    h("button", { type: "submit" }, "Create account and sign in")
  );
  signup.addEventListener("submit", (e) => {
    e.preventDefault();
    void act(signup, async () => {
      const username = value(signup, "signup-username");
      const password = value(signup, "signup-password");
      await call("POST", "/v1/users", { body: { username, password, display_name: value(signup, "signup-name") || null } });
      await signIn(username, password);
      await signedIn();
    });
  });
  main.append(h("h1", {}, "Sign in"), h("div", { class: "two-up" }, signin, signup));
}
async function signOut(everywhere) {
  await call("POST", everywhere ? "/v1/auth/logout-all" : "/v1/auth/logout");
  setMe(null);
  location.hash = "#/";
  notify(everywhere ? "Signed out on every device." : "Signed out.", "info");
}
async function ordersView(main) {
  const orders = (await call("GET", "/v1/orders?limit=100")).body.items;
  main.append(h("h1", {}, "My orders"));
  if (!orders.length) main.append(h("p", {}, "No orders yet. ", h("a", { href: "#/" }, "Find a film.")));
  const list = h("ul", { class: "orders" });
  main.append(list);
  for (const o of orders) {
    const item = h("li", { class: "panel order", "data-order": o.id });
    list.append(item);
    await drawOrder(item, o);
  }
}
async function drawOrder(item, o) {
  const s = await screening(o.screening_id);
  const [m, c] = await Promise.all([movie(s.movie_id), cinema(s.cinema_id)]);
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel order");
  cancel.addEventListener("click", () => act(cancel, async () => {
    const r = await call("POST", `/v1/orders/${encodeURIComponent(o.id)}/cancel`);
    await drawOrder(item, r.body);
    notify(`Order cancelled; ${money(r.body.total)} will be refunded.`, "info");
  }));
  item.dataset.status = o.status;
  fill(
    item,
    h("h2", {}, h("a", { href: `#/screening/${s.id}` }, m.title)),
    h("p", { class: "meta" }, `${localTime(s.starts_at, c.time_zone)} · ${c.name}`),
    h(
      "p",
      {},
      `Seats ${o.seat_ids.join(", ")} · ${money(o.total)} · `,
      h("strong", { class: "status" }, o.status),
      o.refund ? ` · refund ${o.refund.status}` : ""
    ),
    o.tickets.length ? h("ul", { class: "tickets" }, ...o.tickets.map((t) => h(
      "li",
      { class: "ticket", "data-status": t.status },
      `Seat ${t.seat_id} `,
      h("code", { class: "code" }, t.code),
      t.status === "void" ? " (void)" : ""
    ))) : null,
    o.status === "confirmed" ? cancel : null
  );
}
async function devicesView(main) {
  const sessions = (await call("GET", "/v1/sessions?limit=100")).body.items;
  const everywhere = h("button", { type: "button", id: "logout-all" }, "Sign out everywhere");
  everywhere.addEventListener("click", () => act(everywhere, () => signOut(true)));
  main.append(
    h("h1", {}, "My devices"),
    h("p", {}, "Every browser and app signed in to your account. Signing one out ends its session at once and releases its seat holds."),
    h("ul", { class: "devices" }, ...sessions.map((x) => device(x))),
    everywhere
  );
}
function device(x) {
  const b = h("button", { type: "button", class: "secondary" }, x.current ? "Sign out" : "Sign out this device");
  b.addEventListener("click", () => act(b, async () => {
    if (x.current) return signOut(false);
    await call("DELETE", `/v1/sessions/${encodeURIComponent(x.id)}`);
    b.closest("li")?.remove();
  }));
  const when = (iso) => new Date(iso).toLocaleString();
  return h(
    "li",
    { class: "panel device", "data-session": x.id, "data-current": x.current ? "true" : null },
    h("h2", {}, x.device_name || "Unnamed device", x.current ? " (this device)" : ""),
    h("p", { class: "meta" }, x.user_agent),
    h("p", { class: "meta" }, `Signed in ${when(x.created_at)} from ${x.ip} · last seen ${when(x.last_seen_at)}`),
    b
  );
}

// src/catalogue.ts
async function all(path, pages = 5) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < pages; i++) {
    const sep = path.includes("?") ? "&" : "?";
    const url = cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path;
    const page = (await call("GET", url)).body;
    out.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}
async function filmsView(main) {
  const movies = await all("/v1/movies?limit=100");
  main.append(
    h("h1", {}, "Films"),
    h("ul", { class: "cards" }, ...movies.map((m) => h(
      "li",
      { class: "card" },
      h("h2", {}, h("a", { href: `#/movie/${m.id}` }, m.title)),
      h("p", { class: "meta" }, [m.rating, `${m.duration_minutes} min`, m.genres.join(", ")].filter(Boolean).join(" · ")),
      h("p", {}, m.synopsis)
    )))
  );
}
async function movieView(main, id) {
  const [m, screenings, venues] = await Promise.all([
    call("GET", `/v1/movies/${encodeURIComponent(id)}`).then((r) => r.body),
    all(`/v1/screenings?movie_id=${encodeURIComponent(id)}&limit=100`),
    cinemas()
  ]);
  main.append(
    h("p", {}, h("a", { href: "#/" }, "← All films")),
    h("h1", {}, m.title),
    h("p", { class: "meta" }, [m.rating, `${m.duration_minutes} min`, m.genres.join(", ")].filter(Boolean).join(" · ")),
    h("p", {}, m.synopsis),
    h("h2", {}, "Screenings")
  );
  if (!screenings.length) main.append(h("p", {}, "No screenings in the next seven days."));
  for (const c of venues) {
    const here = screenings.filter((s) => s.cinema_id === c.id && s.status === "scheduled");
    if (!here.length) continue;
    const days = /* @__PURE__ */ new Map();
    for (const s of here) {
      const d = localDay(s.starts_at, c.time_zone);
      days.set(d, [...days.get(d) ?? [], s]);
    }
    const hall = (s) => c.halls.find((x) => x.id === s.hall_id)?.name ?? s.hall_id;
    main.append(h(
      "section",
      { class: "cinema" },
      h("h3", {}, `${c.name}, ${c.city}`, h("span", { class: "meta" }, ` (times in ${c.time_zone})`)),
      h("dl", { class: "days" }, ...[...days].flatMap(([day, list]) => [
        h("dt", {}, day),
        h("dd", {}, h("ul", { class: "times" }, ...list.map((s) => h(
          "li",
          {},
          h(
            "a",
            { href: `#/screening/${s.id}`, class: "time", "data-screening": s.id },
            h("strong", {}, localClock(s.starts_at, c.time_zone)),
            ` ${hall(s)} · ${s.seats_available} free`
          )
        ))))
      ]))
    ));
  }
}

// src/live.ts
var LiveSeatMap = class {
  constructor(screeningId, on) {
    this.screeningId = screeningId;
    this.on = on;
  }
  screeningId;
  on;
  version = -1;
  source = null;
  pending = null;
  // events that came while a snapshot was read
  syncing = null;
  again = false;
  failures = 0;
  timer = 0;
  stopped = false;
  /** Reads the snapshot, then follows the changes. Rejects when the snapshot cannot be read. */
  async start() {
    await this.resync();
    this.connect();
  }
  stop() {
    this.stopped = true;
    this.source?.close();
    clearTimeout(this.timer);
  }
  /** Reads the snapshot again (also after our own hold or order, not to wait for the event). */
  resync() {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.pending = [];
    this.syncing = (async () => {
      try {
        do {
          this.again = false;
          const map = (await call("GET", `/v1/screenings/${encodeURIComponent(this.screeningId)}/seats`)).body;
          if (this.stopped) return;
          this.version = map.version;
          this.on.snapshot(map);
        } while (this.again);
        const pending = this.pending ?? [];
        this.pending = null;
        for (const ev of pending) this.apply(ev);
      } finally {
        this.pending = null;
        this.syncing = null;
      }
    })();
    return this.syncing;
  }
  connect() {
    if (this.stopped) return;
    this.on.state("connecting");
    const url = `/v1/screenings/${encodeURIComponent(this.screeningId)}/seats/events?after=${this.version}`;
    const es = new EventSource(url);
    this.source = es;
    es.addEventListener("ready", (e) => {
      this.failures = 0;
      this.on.state("open");
      const ready = JSON.parse(e.data);
      if (ready.version > this.version) void this.resync().catch(() => {
      });
    });
    es.addEventListener("seats", (e) => {
      const ev = JSON.parse(e.data);
      if (this.pending) this.pending.push(ev);
      else this.apply(ev);
    });
    es.addEventListener("reset", () => void this.resync().catch(() => {
    }));
    es.addEventListener("error", () => {
      if (es.readyState !== EventSource.CLOSED) {
        this.on.state("reconnecting");
        return;
      }
      es.close();
      this.on.state("reconnecting");
      this.failures++;
      const delay = Math.min(3e4, 1e3 * 2 ** Math.min(this.failures, 5));
      this.timer = window.setTimeout(() => {
        this.resync().catch(() => {
        }).finally(() => this.connect());
      }, delay);
    });
  }
  apply(ev) {
    if (ev.version <= this.version) return;
    if (ev.version > this.version + 1) {
      window.setTimeout(() => void this.resync().catch(() => {
      }), 0);
      return;
    }
    this.version = ev.version;
    this.on.change(ev.seats, ev.version);
  }
};

// src/seatmap.ts
var statusText = {
  available: "available",
  held: "held by someone else",
  sold: "sold",
  blocked: "not for sale"
};
var SeatMapView = class {
  constructor(onSelect) {
    this.onSelect = onSelect;
    this.grid = h("div", { class: "seats" });
    this.element = h(
      "div",
      { class: "seatmap" },
      h("p", { class: "screen", "aria-hidden": "true" }, "Screen"),
      h("div", { class: "seat-scroll" }, this.grid)
    );
    this.grid.setAttribute("role", "group");
    this.grid.setAttribute("aria-label", "Seats; the screen is at the top");
    this.grid.addEventListener("keydown", (e) => this.key(e));
  }
  onSelect;
  element;
  grid;
  seats = /* @__PURE__ */ new Map();
  buttons = /* @__PURE__ */ new Map();
  rows = [];
  // by y, each by x
  selected = /* @__PURE__ */ new Set();
  mine = /* @__PURE__ */ new Set();
  focusId = "";
  /** Draws the seats of a snapshot (again: the layout may only change between screenings). */
  draw(seats) {
    const sameLayout = seats.length === this.seats.size && seats.every((s) => this.seats.has(s.id));
    this.seats = new Map(seats.map((s) => [s.id, { ...s }]));
    if (sameLayout) {
      for (const s of seats) this.paint(s.id);
      return;
    }
    const byY = /* @__PURE__ */ new Map();
    for (const s of this.seats.values()) byY.set(s.y, [...byY.get(s.y) ?? [], s]);
    this.rows = [...byY.keys()].sort((a, b) => a - b).map((y) => byY.get(y).sort((a, b) => a.x - b.x));
    const width = Math.max(0, ...seats.map((s) => s.x)) + 1;
    this.grid.replaceChildren();
    this.buttons.clear();
    this.grid.style.gridTemplateColumns = `auto repeat(${width}, var(--seat)) auto`;
    for (const row of this.rows) {
      const label = row[0].row;
      for (const col of [1, width + 2]) {
        const l = h("span", { class: "row-label", "aria-hidden": "true" }, label);
        l.style.gridRow = String(row[0].y + 1);
        l.style.gridColumn = String(col);
        this.grid.append(l);
      }
      for (const s of row) {
        const b = h(
          "button",
          { type: "button", class: "seat", "data-seat": s.id, tabindex: "-1" },
          s.accessible ? "♿" : String(s.number)
        );
        b.style.gridRow = String(s.y + 1);
        b.style.gridColumn = String(s.x + 2);
        b.addEventListener("click", () => this.toggle(s.id));
        b.addEventListener("focus", () => this.setFocus(s.id));
        this.buttons.set(s.id, b);
        this.grid.append(b);
      }
    }
    this.markGroups();
    if (!this.seats.has(this.focusId)) this.focusId = this.rows[0]?.[0]?.id ?? "";
    for (const id of this.seats.keys()) this.paint(id);
    this.setFocus(this.focusId);
  }
  /** Applies status changes (from the live stream). */
  update(changes) {
    for (const c of changes) {
      const s = this.seats.get(c.id);
      if (!s) continue;
      s.status = c.status;
      if (!this.selectable(c.id) && this.selected.delete(c.id)) this.onSelect([...this.selected]);
      this.paint(c.id);
    }
  }
  /** The seats of the user's active hold: shown as theirs, and selectable to keep them. */
  setMine(ids) {
    const old = this.mine;
    this.mine = new Set(ids);
    for (const id of /* @__PURE__ */ new Set([...old, ...ids])) this.paint(id);
  }
  setSelection(ids) {
    const old = this.selected;
    this.selected = new Set(ids.filter((id) => this.seats.has(id)));
    for (const id of /* @__PURE__ */ new Set([...old, ...ids])) this.paint(id);
  }
  seat(id) {
    return this.seats.get(id);
  }
  selectable(id) {
    const s = this.seats.get(id);
    return !!s && (s.status === "available" || s.status === "held" && this.mine.has(id));
  }
  /** The seats that go with id: its group, or only itself. */
  group(id) {
    const g = this.seats.get(id)?.group_id;
    if (!g) return [id];
    return [...this.seats.values()].filter((s) => s.group_id === g).map((s) => s.id);
  }
  toggle(id) {
    const ids = this.group(id);
    if (!ids.every((x) => this.selectable(x))) return;
    const on = !this.selected.has(id);
    for (const x of ids) {
      if (on) this.selected.add(x);
      else this.selected.delete(x);
      this.paint(x);
    }
    this.onSelect([...this.selected]);
  }
  paint(id) {
    const s = this.seats.get(id);
    const b = this.buttons.get(id);
    if (!s || !b) return;
    const mine = this.mine.has(id) && s.status === "held";
    b.dataset.status = s.status;
    b.dataset.category = s.category;
    if (mine) b.dataset.mine = "true";
    else delete b.dataset.mine;
    if (s.accessible) b.dataset.accessible = "true";
    b.setAttribute("aria-pressed", String(this.selected.has(id)));
    b.setAttribute("aria-disabled", String(!this.selectable(id)));
    const parts = [`Row ${s.row} seat ${s.number}`, s.category];
    if (s.accessible) parts.push("wheelchair space");
    const partners = this.group(id).filter((x) => x !== id);
    if (partners.length) parts.push(`sold together with ${partners.map((x) => this.seats.get(x).label).join(" and ")}`);
    parts.push(mine ? "held by you" : statusText[s.status]);
    b.setAttribute("aria-label", parts.join(", "));
  }
  /** Joins the seats of a group visually (first, middle, last). */
  markGroups() {
    const groups = /* @__PURE__ */ new Map();
    for (const s of this.seats.values()) if (s.group_id) groups.set(s.group_id, [...groups.get(s.group_id) ?? [], s]);
    for (const members of groups.values()) {
      members.sort((a, b) => a.x - b.x);
      members.forEach((s, i) => {
        this.buttons.get(s.id).dataset.group = i === 0 ? "first" : i === members.length - 1 ? "last" : "middle";
      });
    }
  }
  setFocus(id) {
    if (!id) return;
    this.buttons.get(this.focusId)?.setAttribute("tabindex", "-1");
    this.focusId = id;
    this.buttons.get(id)?.setAttribute("tabindex", "0");
  }
  key(e) {
    const cur = this.seats.get(this.focusId);
    if (!cur) return;
    const y = this.rows.findIndex((r) => r[0].y === cur.y);
    const row = this.rows[y];
    const i = row.findIndex((s) => s.id === cur.id);
    const nearest = (r) => r?.reduce((best, s) => Math.abs(s.x - cur.x) < Math.abs(best.x - cur.x) ? s : best);
    let next;
    switch (e.key) {
      case "ArrowLeft":
        next = row[i - 1];
        break;
      case "ArrowRight":
        next = row[i + 1];
        break;
      case "ArrowUp":
        next = nearest(this.rows[y - 1]);
        break;
      case "ArrowDown":
        next = nearest(this.rows[y + 1]);
        break;
      case "Home":
        next = row[0];
        break;
      case "End":
        next = row[row.length - 1];
        break;
      default:
        return;
    }
    e.preventDefault();
    if (next) {
      this.setFocus(next.id);
      this.buttons.get(next.id).focus();
    }
  }
};
function legend(categories, hasAccessible, hasGroups) {
  const item = (attrs, mark, text) => h("li", {}, h("span", { class: "seat sample", "aria-hidden": "true", ...attrs }, mark), " ", text);
  return h(
    "ul",
    { class: "legend", "aria-label": "Legend" },
    ...categories.map((c) => item({ "data-status": "available", "data-category": c }, "", `${c}, available`)),
    item({ "data-status": "available", "aria-pressed": "true" }, "", "your selection"),
    item({ "data-status": "held", "data-mine": "true", "aria-pressed": "true" }, "", "held by you"),
    item({ "data-status": "held" }, "", "held by someone else"),
    item({ "data-status": "sold" }, "", "sold"),
    item({ "data-status": "blocked" }, "", "not for sale"),
    hasAccessible && item({ "data-status": "available", "data-accessible": "true" }, "♿", "wheelchair space"),
    hasGroups && h(
      "li",
      {},
      h("span", { class: "seat sample", "data-status": "available", "data-group": "first", "aria-hidden": "true" }),
      h("span", { class: "seat sample", "data-status": "available", "data-group": "last", "aria-hidden": "true" }),
      " ",
      "seats sold together (love seat)"
    )
  );
}

// src/screening.ts
var liveText = {
  connecting: "Connecting to live updates…",
  open: "Live: seats change here as people book them.",
  reconnecting: "Live updates interrupted; reconnecting…"
};
var selections = /* @__PURE__ */ new Map();
async function screeningView(main, id) {
  const s = await screening(id);
  const [m, c] = await Promise.all([movie(s.movie_id), cinema(s.cinema_id)]);
  const hall = c.halls.find((x) => x.id === s.hall_id)?.name ?? s.hall_id;
  const price = (category) => s.prices.find((p) => p.category === category);
  let selection = selections.get(id) ?? [];
  let hold = null;
  let deadline = 0;
  let ticker = 0;
  let attempt = null;
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
  append(
    main,
    h("p", {}, h("a", { href: `#/movie/${m.id}` }, `← ${m.title}: all screenings`)),
    h("h1", {}, m.title),
    h("p", { class: "meta" }, `${localTime(s.starts_at, c.time_zone)} · ${c.name}, ${c.city} · ${hall}`),
    h("p", { class: "meta" }, "Prices: ", s.prices.map((p) => `${p.category} ${money(p)}`).join(", ")),
    s.status === "cancelled" ? h("p", { class: "warning" }, "This screening was cancelled.") : null,
    liveLine,
    h(
      "div",
      { class: "booking" },
      h("div", { class: "map-column" }, map.element, legendBox),
      h("div", { class: "side-column" }, selectionBox, holdBox, orderBox)
    ),
    announce
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
    }
  });
  function drawSelection() {
    const seats = selection.map((x) => map.seat(x)).filter((x) => x !== void 0);
    const total = seats.reduce((sum, x) => sum + (price(x.category)?.amount ?? 0), 0);
    const held = hold?.seat_ids ?? [];
    const same = held.length === seats.length && seats.every((x) => held.includes(x.id));
    const label = !app.me ? "Sign in to hold seats" : same ? "Held for you: pay below" : hold ? "Hold these seats instead" : "Hold seats";
    const button = h("button", { type: "button", id: "hold-button", disabled: !seats.length || same }, label);
    button.addEventListener("click", () => act(button, doHold));
    fill(
      selectionBox,
      h("h2", { id: "sel-h" }, "Your selection"),
      seats.length ? h(
        "p",
        { id: "selected-seats" },
        seats.map((x) => x.label).join(", "),
        " · ",
        h("strong", {}, money({ amount: total, currency: s.prices[0]?.currency ?? "EUR" }))
      ) : h("p", {}, "Choose seats on the map (arrow keys move, Space selects)."),
      button
    );
  }
  async function doHold() {
    if (!app.me) return requireSignIn();
    const r = await call("POST", `/v1/screenings/${encodeURIComponent(id)}/holds`, { body: { seat_ids: selection } }).catch((e) => {
      if (e instanceof ApiError && e.code === "seats_unavailable") void live.resync().catch(() => {
      });
      throw e;
    });
    setHold(r.body);
    announce.textContent = `Seats ${r.body.seat_ids.join(", ")} are held for you for ${minutes(r.body.expires_in_seconds)} minutes.`;
    await live.resync();
  }
  function setHold(next) {
    hold = next && next.status === "active" && next.expires_in_seconds > 0 ? next : null;
    clearInterval(ticker);
    rememberHold(id, hold?.id ?? null);
    map.setMine(hold?.seat_ids ?? []);
    if (hold) {
      deadline = performance.now() + hold.expires_in_seconds * 1e3;
      selection = [...hold.seat_ids];
      map.setSelection(selection);
      ticker = window.setInterval(tick, 250);
    }
    drawHold();
    drawSelection();
  }
  function tick() {
    const left = (deadline - performance.now()) / 1e3;
    const el = document.getElementById("countdown");
    if (el) el.textContent = minutes(left);
    if (left <= 0) {
      setHold(null);
      notify("Your hold expired: the seats are free for others again.", "info");
      void live.resync().catch(() => {
      });
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
    const form = h(
      "form",
      { class: "checkout" },
      h("label", { for: "payment" }, "Payment (test provider, no real money)"),
      h(
        "select",
        { id: "payment", name: "payment" },
        h("option", { value: "test_success" }, "Test card that pays"),
        h("option", { value: "test_decline" }, "Test card that is declined")
      ),
      h("button", { type: "submit", id: "pay-button" }, `Pay ${money(h0.total)}`)
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void act(form, () => pay(form.elements.namedItem("payment").value));
    });
    fill(
      holdBox,
      h("h2", { id: "hold-h" }, "Held for you"),
      h("p", {}, `Seats ${h0.seat_ids.join(", ")} · ${money(h0.total)}`),
      h(
        "p",
        { class: "countdown" },
        "Time left to pay: ",
        h("span", { id: "countdown", role: "timer", "aria-live": "off" }, minutes(h0.expires_in_seconds))
      ),
      form,
      release
    );
  }
  async function pay(token) {
    if (!hold) return;
    if (!attempt || attempt.holdId !== hold.id || attempt.token !== token) {
      attempt = { holdId: hold.id, token, key: idempotencyKey() };
    }
    let order;
    try {
      const r = await call("POST", "/v1/orders", {
        headers: { "Idempotency-Key": attempt.key },
        body: { hold_id: hold.id, payment: { method: "test", token } }
      });
      order = r.body;
    } catch (e) {
      const retry = e instanceof ApiError && (e.status === 0 || e.status === 503 || e.code === "idempotency_key_in_flight");
      if (!retry) attempt = null;
      if (e instanceof ApiError && e.code === "hold_expired") setHold(null);
      throw e;
    }
    attempt = null;
    for (let i = 0; order.status === "pending" && i < 60; i++) {
      await new Promise((r) => setTimeout(r, 2e3));
      order = (await call("GET", `/v1/orders/${encodeURIComponent(order.id)}`)).body;
    }
    selection = [];
    selections.delete(id);
    setHold(null);
    map.setSelection([]);
    drawOrder2(order);
    await live.resync();
  }
  function drawOrder2(o) {
    orderBox.hidden = false;
    const label = (seat) => map.seat(seat)?.label ?? seat;
    fill(
      orderBox,
      h("h2", {}, o.status === "confirmed" ? "Paid: your tickets" : `Order ${o.status}`),
      h("ul", { class: "tickets" }, ...o.tickets.map((t) => h(
        "li",
        { class: "ticket", "data-ticket": t.id },
        h("span", {}, `Seat ${label(t.seat_id)}`),
        " ",
        h("code", { class: "code" }, t.code)
      ))),
      h("p", {}, h("a", { href: "#/orders" }, "See all my orders"))
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
      setHold((await call("GET", `/v1/holds/${encodeURIComponent(remembered)}`)).body);
    } catch {
      rememberHold(id, null);
    }
  }
  return () => {
    live.stop();
    clearInterval(ticker);
  };
}

// src/main.ts
var leave = void 0;
var generation = 0;
async function route() {
  const gen = ++generation;
  if (leave) leave();
  leave = void 0;
  const main = document.getElementById("main");
  const fresh = h("div", { class: "view" });
  fill(main, h("p", { class: "loading" }, "Loading…"));
  const [, page = "", id = ""] = (location.hash || "#/").split("/").map(decodeURIComponent);
  const needsAccount = page === "orders" || page === "devices";
  if (needsAccount && !app.me) return requireSignIn();
  try {
    let cleanup = void 0;
    switch (page) {
      case "":
        await filmsView(fresh);
        break;
      case "movie":
        await movieView(fresh, id);
        break;
      case "screening":
        cleanup = await screeningView(fresh, id);
        break;
      case "signin":
        signInView(fresh);
        break;
      case "orders":
        await ordersView(fresh);
        break;
      case "devices":
        await devicesView(fresh);
        break;
      default:
        fresh.append(h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the films")));
    }
    if (gen !== generation) return cleanup?.();
    leave = cleanup;
    fill(main, fresh);
    main.querySelector("h1")?.setAttribute("tabindex", "-1");
    document.title = `${main.querySelector("h1")?.textContent ?? "boxoffice"} · boxoffice`;
  } catch (e) {
    if (gen !== generation) return;
    fill(main, h("h1", {}, "Something went wrong"), h("p", {}, h("a", { href: "#/" }, "Back to the films")));
    notify(e);
  }
}
function drawHeader() {
  const account = document.getElementById("account");
  const me = app.me;
  if (!me) {
    fill(account, h("a", { href: "#/signin", id: "signin-link" }, "Sign in"));
    return;
  }
  const out = h("button", { type: "button", id: "logout", class: "link" }, "Sign out");
  out.addEventListener("click", () => act(out, () => signOut(false)));
  fill(
    account,
    h("span", { id: "whoami" }, "Signed in as ", h("strong", {}, me.display_name)),
    h("a", { href: "#/orders" }, "My orders"),
    h("a", { href: "#/devices" }, "My devices"),
    out
  );
}
async function boot() {
  app.onAuth = drawHeader;
  try {
    setMe(await whoAmI());
  } catch (e) {
    setMe(null);
    notify(e);
  }
  window.addEventListener("hashchange", () => void route());
  await route();
}
void boot();
