// A seat map kept up to date with Server-Sent Events:
//
//  1. GET /v1/screenings/{id}/seats: the snapshot, at version S;
//  2. EventSource /v1/screenings/{id}/seats/events?after=S: every change after S, each event
//     carrying its version (gap-free, increasing). Events at or below the version we have are
//     ignored (a reconnect may replay some);
//  3. "reset" means changes were missed: read the snapshot again. Events that arrive while it
//     is being read are kept and applied after it, if newer.
//
// EventSource reconnects by itself after a dropped connection (sending Last-Event-ID, so the
// stream resumes where it stopped). When the browser gives up (the server answered an error),
// we read the snapshot again and open a new stream after a pause that grows with each failure.
import { call } from "./api";
import type { SeatMap, SeatsEvent, SeatStatus, VersionEvent } from "./types";

export type LiveState = "connecting" | "open" | "reconnecting";

export interface LiveHandlers {
  snapshot(map: SeatMap): void;
  change(seats: { id: string; status: SeatStatus }[], version: number): void;
  state(s: LiveState): void;
}

export class LiveSeatMap {
  private version = -1;
  private source: EventSource | null = null;
  private pending: SeatsEvent[] | null = null; // events that came while a snapshot was read
  private syncing: Promise<void> | null = null;
  private again = false;
  private failures = 0;
  private timer = 0;
  private stopped = false;

  constructor(private readonly screeningId: string, private readonly on: LiveHandlers) {}

  /** Reads the snapshot, then follows the changes. Rejects when the snapshot cannot be read. */
  async start(): Promise<void> {
    await this.resync();
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.source?.close();
    clearTimeout(this.timer);
  }

  /** Reads the snapshot again (also after our own hold or order, not to wait for the event). */
  resync(): Promise<void> {
    if (this.syncing) {
      this.again = true; // read once more when the read in progress ends
      return this.syncing;
    }
    this.pending = [];
    this.syncing = (async () => {
      try {
        do {
          this.again = false;
          const map = (await call<SeatMap>("GET", `/v1/screenings/${encodeURIComponent(this.screeningId)}/seats`)).body;
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

  private connect(): void {
    if (this.stopped) return;
    this.on.state("connecting");
    const url = `/v1/screenings/${encodeURIComponent(this.screeningId)}/seats/events?after=${this.version}`;
    const es = new EventSource(url);
    this.source = es;
    es.addEventListener("ready", (e) => {
      this.failures = 0;
      this.on.state("open");
      const ready = JSON.parse((e as MessageEvent).data) as VersionEvent;
      if (ready.version > this.version) void this.resync().catch(() => {}); // the stream starts past us
    });
    es.addEventListener("seats", (e) => {
      const ev = JSON.parse((e as MessageEvent).data) as SeatsEvent;
      if (this.pending) this.pending.push(ev);
      else this.apply(ev);
    });
    es.addEventListener("reset", () => void this.resync().catch(() => {}));
    es.addEventListener("error", () => {
      if (es.readyState !== EventSource.CLOSED) {
        this.on.state("reconnecting"); // the browser retries by itself, with Last-Event-ID
        return;
      }
      es.close(); // the browser gave up: start over after a pause
      this.on.state("reconnecting");
      this.failures++;
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.failures, 5));
      this.timer = window.setTimeout(() => {
        this.resync().catch(() => {}).finally(() => this.connect());
      }, delay);
    });
  }

  private apply(ev: SeatsEvent): void {
    if (ev.version <= this.version) return; // already in the snapshot, or seen before a reconnect
    if (ev.version > this.version + 1) {
      // Versions are gap-free: one is missing. Start over (once the current read, if any, ends).
      window.setTimeout(() => void this.resync().catch(() => {}), 0);
      return;
    }
    this.version = ev.version;
    this.on.change(ev.seats, ev.version);
  }
}
