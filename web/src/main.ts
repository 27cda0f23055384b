// boxoffice's reference web client: a small, dependency-free example of a browser app on the
// boxoffice API with the cookie transport. Pages are chosen by the URL's fragment:
//
//   #/                  the films            #/orders    my orders and tickets
//   #/movie/{id}        a film's screenings  #/devices   my signed-in devices
//   #/screening/{id}    seats, hold, pay     #/signin    sign in or create an account
import { whoAmI } from "./api";
import { signInView, signOut, devicesView, ordersView } from "./account";
import { act, app, notify, requireSignIn, setMe } from "./app";
import { filmsView, movieView } from "./catalogue";
import { fill, h } from "./dom";
import { screeningView } from "./screening";

let leave: (() => void) | void = undefined;
let generation = 0;

async function route(): Promise<void> {
  const gen = ++generation;
  if (leave) leave();
  leave = undefined;
  const main = document.getElementById("main")!;
  const fresh = h("div", { class: "view" });
  fill(main, h("p", { class: "loading" }, "Loading…"));
  const [, page = "", id = ""] = (location.hash || "#/").split("/").map(decodeURIComponent);
  const needsAccount = page === "orders" || page === "devices";
  if (needsAccount && !app.me) return requireSignIn();
  try {
    let cleanup: (() => void) | void = undefined;
    switch (page) {
      case "": await filmsView(fresh); break;
      case "movie": await movieView(fresh, id); break;
      case "screening": cleanup = await screeningView(fresh, id); break;
      case "signin": signInView(fresh); break;
      case "orders": await ordersView(fresh); break;
      case "devices": await devicesView(fresh); break;
      default: fresh.append(h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the films")));
    }
    if (gen !== generation) return cleanup?.(); // the user went elsewhere meanwhile
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

function drawHeader(): void {
  const account = document.getElementById("account")!;
  const me = app.me;
  if (!me) {
    fill(account, h("a", { href: "#/signin", id: "signin-link" }, "Sign in"));
    return;
  }
  const out = h("button", { type: "button", id: "logout", class: "link" }, "Sign out");
  out.addEventListener("click", () => act(out, () => signOut(false)));
  fill(account,
    h("span", { id: "whoami" }, "Signed in as ", h("strong", {}, me.display_name)),
    h("a", { href: "#/orders" }, "My orders"),
    h("a", { href: "#/devices" }, "My devices"),
    out,
  );
}

async function boot(): Promise<void> {
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
