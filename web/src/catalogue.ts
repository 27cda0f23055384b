// Browsing: the films, and a film's screenings at every cinema, shown in each cinema's own
// time zone (the API gives times in UTC and each cinema's IANA zone).
import { call } from "./api";
import { cinemas } from "./app";
import { h } from "./dom";
import { localClock, localDay } from "./format";
import type { Movie, MoviePage, Screening } from "./types";

/** Every item of a paged list, following next_cursor (at most `pages` pages). */
async function all<T>(path: string, pages = 5): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < pages; i++) {
    const sep = path.includes("?") ? "&" : "?";
    const url: string = cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path;
    const page = (await call<{ items: T[]; next_cursor: string | null }>("GET", url)).body;
    out.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}

export async function filmsView(main: HTMLElement): Promise<void> {
  const movies = await all<MoviePage["items"][number]>("/v1/movies?limit=100");
  main.append(
    h("h1", {}, "Films"),
    h("ul", { class: "cards" }, ...movies.map((m) => h("li", { class: "card" },
      h("h2", {}, h("a", { href: `#/movie/${m.id}` }, m.title)),
      h("p", { class: "meta" }, [m.rating, `${m.duration_minutes} min`, m.genres.join(", ")].filter(Boolean).join(" · ")),
      h("p", {}, m.synopsis),
    ))),
  );
}

export async function movieView(main: HTMLElement, id: string): Promise<void> {
  const [m, screenings, venues] = await Promise.all([
    call<Movie>("GET", `/v1/movies/${encodeURIComponent(id)}`).then((r) => r.body),
    all<Screening>(`/v1/screenings?movie_id=${encodeURIComponent(id)}&limit=100`),
    cinemas(),
  ]);
  main.append(
    h("p", {}, h("a", { href: "#/" }, "← All films")),
    h("h1", {}, m.title),
    h("p", { class: "meta" }, [m.rating, `${m.duration_minutes} min`, m.genres.join(", ")].filter(Boolean).join(" · ")),
    h("p", {}, m.synopsis),
    h("h2", {}, "Screenings"),
  );
  if (!screenings.length) main.append(h("p", {}, "No screenings in the next seven days."));
  for (const c of venues) {
    const here = screenings.filter((s) => s.cinema_id === c.id && s.status === "scheduled");
    if (!here.length) continue;
    const days = new Map<string, Screening[]>();
    for (const s of here) {
      const d = localDay(s.starts_at, c.time_zone);
      days.set(d, [...(days.get(d) ?? []), s]);
    }
    const hall = (s: Screening) => c.halls.find((x) => x.id === s.hall_id)?.name ?? s.hall_id;
    main.append(h("section", { class: "cinema" },
      h("h3", {}, `${c.name}, ${c.city}`, h("span", { class: "meta" }, ` (times in ${c.time_zone})`)),
      h("dl", { class: "days" }, ...[...days].flatMap(([day, list]) => [
        h("dt", {}, day),
        h("dd", {}, h("ul", { class: "times" }, ...list.map((s) => h("li", {},
          h("a", { href: `#/screening/${s.id}`, class: "time", "data-screening": s.id },
            h("strong", {}, localClock(s.starts_at, c.time_zone)), ` ${hall(s)} · ${s.seats_available} free`),
        )))),
      ])),
    ));
  }
}
