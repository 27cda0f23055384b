// What every view shares: who is signed in, the notice area for errors, and cached catalogue
// look-ups.
import { ApiError, call } from "./api";
import { fill, h } from "./dom";
import type { Cinema, CinemaList, Movie, Screening, User } from "./types";

export const app = {
  me: null as User | null,
  /** Called when the signed-in user changes (the header redraws). */
  onAuth: (() => {}) as () => void,
};

export function setMe(user: User | null): void {
  app.me = user;
  document.body.dataset.auth = user ? "in" : "out";
  if (!user) forgetHolds();
  app.onAuth();
}

/** Shows an error (an RFC 9457 problem's title and detail) or a message in the notice area. */
export function notify(what: unknown, kind: "error" | "info" = "error"): void {
  const box = document.getElementById("notice")!;
  if (what === null) {
    fill(box);
    box.hidden = true;
    return;
  }
  let text: (string | HTMLElement)[] = [String(what)];
  if (what instanceof ApiError) {
    const p = what.problem;
    text = [h("strong", {}, p.title), p.detail ? ` ${p.detail}` : ""];
    const fields = Object.entries(p.errors ?? {});
    if (fields.length) text.push(h("ul", {}, ...fields.map(([f, m]) => h("li", {}, `${f}: ${m}`))));
    if (p.status === 401 && app.me) setMe(null); // the session ended (signed out elsewhere, revoked)
  } else if (what instanceof Error) {
    text = [what.message];
  }
  box.dataset.kind = kind;
  box.hidden = false;
  fill(box, ...text);
}

/** Runs an action of a button or form, disabling it meanwhile and reporting failures. */
export async function act(control: HTMLButtonElement | HTMLFormElement | null, action: () => Promise<void>): Promise<void> {
  const buttons = control instanceof HTMLFormElement ? [...control.querySelectorAll("button")] : control ? [control] : [];
  buttons.forEach((b) => (b.disabled = true));
  notify(null);
  try {
    await action();
  } catch (e) {
    notify(e);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

const cache = new Map<string, Promise<unknown>>();

function cached<T>(path: string): Promise<T> {
  let p = cache.get(path) as Promise<T> | undefined;
  if (!p) {
    p = call<T>("GET", path).then((r) => r.body);
    p.catch(() => cache.delete(path));
    cache.set(path, p);
  }
  return p;
}

export const movie = (id: string) => cached<Movie>(`/v1/movies/${encodeURIComponent(id)}`);
export const screening = (id: string) => call<Screening>("GET", `/v1/screenings/${encodeURIComponent(id)}`).then((r) => r.body);
export async function cinema(id: string): Promise<Cinema> {
  const list = await cached<CinemaList>("/v1/cinemas");
  const c = list.items.find((x) => x.id === id);
  if (!c) throw new Error(`Unknown cinema ${id}`);
  return c;
}
export const cinemas = () => cached<CinemaList>("/v1/cinemas").then((l) => l.items);

// The id of the user's hold on each screening, kept for this tab so that a reload finds it.
const holdKey = (screeningId: string) => `boxoffice.hold.${screeningId}`;
export const rememberHold = (screeningId: string, holdId: string | null) =>
  holdId ? sessionStorage.setItem(holdKey(screeningId), holdId) : sessionStorage.removeItem(holdKey(screeningId));
export const rememberedHold = (screeningId: string) => sessionStorage.getItem(holdKey(screeningId));
function forgetHolds() {
  for (const k of Object.keys(sessionStorage)) if (k.startsWith("boxoffice.hold.")) sessionStorage.removeItem(k);
}

/** Sends the user to sign in, coming back to the current page afterwards. */
export function requireSignIn(): void {
  sessionStorage.setItem("boxoffice.returnTo", location.hash || "#/");
  location.hash = "#/signin";
}
