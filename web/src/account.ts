// The account pages: signing in or up, my orders (with their tickets, and cancelling), and my
// devices (the sessions of this account: revoke one, or sign out everywhere).
import { call, signIn, whoAmI } from "./api";
import { act, cinema, movie, notify, screening, setMe } from "./app";
import { fill, h } from "./dom";
import { localTime, money } from "./format";
import type { Order, OrderList, SessionList, SessionSummary, User } from "./types";

function field(id: string, label: string, attrs: Record<string, string | boolean>) {
  return h("p", { class: "field" }, h("label", { for: id }, label), h("input", { id, name: id, ...attrs }));
}

function value(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as HTMLInputElement).value;
}

async function signedIn(): Promise<void> {
  setMe(await whoAmI());
  const back = sessionStorage.getItem("boxoffice.returnTo") ?? "#/";
  sessionStorage.removeItem("boxoffice.returnTo");
  location.hash = back === "#/signin" ? "#/" : back;
}

export function signInView(main: HTMLElement): void {
  const signin = h("form", { class: "panel", id: "signin", "aria-labelledby": "signin-h" },
    h("h2", { id: "signin-h" }, "Sign in"),
    field("signin-username", "Username", { autocomplete: "username", required: true }),
    field("signin-password", "Password", { type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit" }, "Sign in"),
  );
  signin.addEventListener("submit", (e) => {
    e.preventDefault();
    void act(signin, async () => {
      await signIn(value(signin, "signin-username"), value(signin, "signin-password"));
      await signedIn();
    });
  });
  const signup = h("form", { class: "panel", id: "signup", "aria-labelledby": "signup-h" },
    h("h2", { id: "signup-h" }, "Create an account"),
    field("signup-username", "Username (3 to 32 letters, digits, . _ -)", { autocomplete: "username", required: true, minlength: "3", maxlength: "32" }),
    field("signup-name", "Display name (optional)", { autocomplete: "nickname", maxlength: "64" }),
    field("signup-password", "Password (at least 8 characters)", { type: "password", autocomplete: "new-password", required: true, minlength: "8" }),
    h("button", { type: "submit" }, "Create account and sign in"),
  );
  signup.addEventListener("submit", (e) => {
    e.preventDefault();
    void act(signup, async () => {
      const username = value(signup, "signup-username");
      const password = value(signup, "signup-password");
      await call<User>("POST", "/v1/users", { body: { username, password, display_name: value(signup, "signup-name") || null } });
      await signIn(username, password);
      await signedIn();
    });
  });
  main.append(h("h1", {}, "Sign in"), h("div", { class: "two-up" }, signin, signup));
}

export async function signOut(everywhere: boolean): Promise<void> {
  await call("POST", everywhere ? "/v1/auth/logout-all" : "/v1/auth/logout");
  setMe(null);
  location.hash = "#/";
  notify(everywhere ? "Signed out on every device." : "Signed out.", "info");
}

export async function ordersView(main: HTMLElement): Promise<void> {
  const orders = (await call<OrderList>("GET", "/v1/orders?limit=100")).body.items;
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

async function drawOrder(item: HTMLElement, o: Order): Promise<void> {
  const s = await screening(o.screening_id);
  const [m, c] = await Promise.all([movie(s.movie_id), cinema(s.cinema_id)]);
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel order");
  cancel.addEventListener("click", () => act(cancel, async () => {
    const r = await call<Order>("POST", `/v1/orders/${encodeURIComponent(o.id)}/cancel`);
    await drawOrder(item, r.body);
    notify(`Order cancelled; ${money(r.body.total)} will be refunded.`, "info");
  }));
  item.dataset.status = o.status;
  fill(item,
    h("h2", {}, h("a", { href: `#/screening/${s.id}` }, m.title)),
    h("p", { class: "meta" }, `${localTime(s.starts_at, c.time_zone)} · ${c.name}`),
    h("p", {}, `Seats ${o.seat_ids.join(", ")} · ${money(o.total)} · `, h("strong", { class: "status" }, o.status),
      o.refund ? ` · refund ${o.refund.status}` : ""),
    o.tickets.length ? h("ul", { class: "tickets" }, ...o.tickets.map((t) => h("li", { class: "ticket", "data-status": t.status },
      `Seat ${t.seat_id} `, h("code", { class: "code" }, t.code), t.status === "void" ? " (void)" : ""))) : null,
    o.status === "confirmed" ? cancel : null,
  );
}

export async function devicesView(main: HTMLElement): Promise<void> {
  const sessions = (await call<SessionList>("GET", "/v1/sessions?limit=100")).body.items;
  const everywhere = h("button", { type: "button", id: "logout-all" }, "Sign out everywhere");
  everywhere.addEventListener("click", () => act(everywhere, () => signOut(true)));
  main.append(
    h("h1", {}, "My devices"),
    h("p", {}, "Every browser and app signed in to your account. Signing one out ends its session at once and releases its seat holds."),
    h("ul", { class: "devices" }, ...sessions.map((x) => device(x))),
    everywhere,
  );
}

function device(x: SessionSummary): HTMLElement {
  const b = h("button", { type: "button", class: "secondary" }, x.current ? "Sign out" : "Sign out this device");
  b.addEventListener("click", () => act(b, async () => {
    if (x.current) return signOut(false); // logout also clears this browser's cookies
    await call("DELETE", `/v1/sessions/${encodeURIComponent(x.id)}`);
    b.closest("li")?.remove();
  }));
  const when = (iso: string) => new Date(iso).toLocaleString();
  return h("li", { class: "panel device", "data-session": x.id, "data-current": x.current ? "true" : null },
    h("h2", {}, x.device_name || "Unnamed device", x.current ? " (this device)" : ""),
    h("p", { class: "meta" }, x.user_agent),
    h("p", { class: "meta" }, `Signed in ${when(x.created_at)} from ${x.ip} · last seen ${when(x.last_seen_at)}`),
    b,
  );
}
