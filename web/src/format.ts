// Formatting for people: money in its currency, times in the cinema's own time zone.
import type { Money } from "./types";

/** An amount of minor units (cents) in its currency, e.g. 2300 EUR -> "€23.00". */
export function money(m: Money): string {
  const f = new Intl.NumberFormat(undefined, { style: "currency", currency: m.currency });
  const digits = f.resolvedOptions().maximumFractionDigits ?? 2; // 0 for JPY, 3 for KWD
  return f.format(m.amount / 10 ** digits);
}

/** A time (RFC 3339, UTC from the API) as the clock on the cinema's wall shows it. */
export function localTime(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(undefined, {
    timeZone, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short",
  }).format(new Date(iso));
}

/** The local day of a time in a zone, e.g. "Tue, 2 Dec", for grouping screenings. */
export function localDay(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(undefined, { timeZone, weekday: "short", day: "numeric", month: "short" })
    .format(new Date(iso));
}

/** Only the local hour and minute. */
export function localClock(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(undefined, { timeZone, hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}

/** Seconds as m:ss. */
export function minutes(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
