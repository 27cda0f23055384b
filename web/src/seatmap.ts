// The seat map: one button per seat, placed on a grid by the layout's x (across) and y (down),
// the screen at the top. Status and category are shown by colour *and* by a mark or shape, and
// spoken by each seat's aria-label ("Row C seat 7, premium, available"); aria-pressed says
// whether it is selected.
//
// Keyboard: one seat is in the tab order at a time (a "roving tabindex"); the arrow keys move
// between seats (up and down to the nearest seat of the next row), Home and End to the ends of
// the row, Space or Enter select. Seats that are sold together (a love seat: same group_id) are
// selected together.
import { h } from "./dom";
import type { Seat, SeatStatus } from "./types";

const statusText: Record<SeatStatus, string> = {
  available: "available", held: "held by someone else", sold: "sold", blocked: "not for sale",
};

export class SeatMapView {
  readonly element: HTMLElement;
  private readonly grid: HTMLElement;
  private seats = new Map<string, Seat>();
  private buttons = new Map<string, HTMLButtonElement>();
  private rows: Seat[][] = []; // by y, each by x
  private selected = new Set<string>();
  private mine = new Set<string>();
  private focusId = "";

  constructor(private readonly onSelect: (selected: string[]) => void) {
    this.grid = h("div", { class: "seats" });
    this.element = h("div", { class: "seatmap" },
      h("p", { class: "screen", "aria-hidden": "true" }, "Screen"),
      h("div", { class: "seat-scroll" }, this.grid),
    );
    this.grid.setAttribute("role", "group");
    this.grid.setAttribute("aria-label", "Seats; the screen is at the top");
    this.grid.addEventListener("keydown", (e) => this.key(e));
  }

  /** Draws the seats of a snapshot (again: the layout may only change between screenings). */
  draw(seats: Seat[]): void {
    const sameLayout = seats.length === this.seats.size && seats.every((s) => this.seats.has(s.id));
    this.seats = new Map(seats.map((s) => [s.id, { ...s }]));
    if (sameLayout) {
      for (const s of seats) this.paint(s.id);
      return;
    }
    const byY = new Map<number, Seat[]>();
    for (const s of this.seats.values()) byY.set(s.y, [...(byY.get(s.y) ?? []), s]);
    this.rows = [...byY.keys()].sort((a, b) => a - b).map((y) => byY.get(y)!.sort((a, b) => a.x - b.x));
    const width = Math.max(0, ...seats.map((s) => s.x)) + 1;
    this.grid.replaceChildren();
    this.buttons.clear();
    this.grid.style.gridTemplateColumns = `auto repeat(${width}, var(--seat)) auto`; // CSSOM: allowed by the CSP
    for (const row of this.rows) {
      const label = row[0].row;
      for (const col of [1, width + 2]) {
        const l = h("span", { class: "row-label", "aria-hidden": "true" }, label);
        l.style.gridRow = String(row[0].y + 1);
        l.style.gridColumn = String(col);
        this.grid.append(l);
      }
      for (const s of row) {
        const b = h("button", { type: "button", class: "seat", "data-seat": s.id, tabindex: "-1" },
          s.accessible ? "♿" : String(s.number));
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
  update(changes: { id: string; status: SeatStatus }[]): void {
    for (const c of changes) {
      const s = this.seats.get(c.id);
      if (!s) continue;
      s.status = c.status;
      if (!this.selectable(c.id) && this.selected.delete(c.id)) this.onSelect([...this.selected]);
      this.paint(c.id);
    }
  }

  /** The seats of the user's active hold: shown as theirs, and selectable to keep them. */
  setMine(ids: string[]): void {
    const old = this.mine;
    this.mine = new Set(ids);
    for (const id of new Set([...old, ...ids])) this.paint(id);
  }

  setSelection(ids: string[]): void {
    const old = this.selected;
    this.selected = new Set(ids.filter((id) => this.seats.has(id)));
    for (const id of new Set([...old, ...ids])) this.paint(id);
  }

  seat(id: string): Seat | undefined {
    return this.seats.get(id);
  }

  private selectable(id: string): boolean {
    const s = this.seats.get(id);
    return !!s && (s.status === "available" || (s.status === "held" && this.mine.has(id)));
  }

  /** The seats that go with id: its group, or only itself. */
  private group(id: string): string[] {
    const g = this.seats.get(id)?.group_id;
    if (!g) return [id];
    return [...this.seats.values()].filter((s) => s.group_id === g).map((s) => s.id);
  }

  private toggle(id: string): void {
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

  private paint(id: string): void {
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
    if (partners.length) parts.push(`sold together with ${partners.map((x) => this.seats.get(x)!.label).join(" and ")}`);
    parts.push(mine ? "held by you" : statusText[s.status]);
    b.setAttribute("aria-label", parts.join(", "));
  }

  /** Joins the seats of a group visually (first, middle, last). */
  private markGroups(): void {
    const groups = new Map<string, Seat[]>();
    for (const s of this.seats.values()) if (s.group_id) groups.set(s.group_id, [...(groups.get(s.group_id) ?? []), s]);
    for (const members of groups.values()) {
      members.sort((a, b) => a.x - b.x);
      members.forEach((s, i) => {
        this.buttons.get(s.id)!.dataset.group = i === 0 ? "first" : i === members.length - 1 ? "last" : "middle";
      });
    }
  }

  private setFocus(id: string): void {
    if (!id) return;
    this.buttons.get(this.focusId)?.setAttribute("tabindex", "-1");
    this.focusId = id;
    this.buttons.get(id)?.setAttribute("tabindex", "0");
  }

  private key(e: KeyboardEvent): void {
    const cur = this.seats.get(this.focusId);
    if (!cur) return;
    const y = this.rows.findIndex((r) => r[0].y === cur.y);
    const row = this.rows[y];
    const i = row.findIndex((s) => s.id === cur.id);
    const nearest = (r: Seat[] | undefined) =>
      r?.reduce((best, s) => (Math.abs(s.x - cur.x) < Math.abs(best.x - cur.x) ? s : best));
    let next: Seat | undefined;
    switch (e.key) {
      case "ArrowLeft": next = row[i - 1]; break;
      case "ArrowRight": next = row[i + 1]; break;
      case "ArrowUp": next = nearest(this.rows[y - 1]); break;
      case "ArrowDown": next = nearest(this.rows[y + 1]); break;
      case "Home": next = row[0]; break;
      case "End": next = row[row.length - 1]; break;
      default: return;
    }
    e.preventDefault();
    if (next) {
      this.setFocus(next.id);
      this.buttons.get(next.id)!.focus();
    }
  }
}

/** The legend: what each look means. */
export function legend(categories: string[], hasAccessible: boolean, hasGroups: boolean): HTMLElement {
  const item = (attrs: Record<string, string>, mark: string, text: string) =>
    h("li", {}, h("span", { class: "seat sample", "aria-hidden": "true", ...attrs }, mark), " ", text);
  return h("ul", { class: "legend", "aria-label": "Legend" },
    ...categories.map((c) => item({ "data-status": "available", "data-category": c }, "", `${c}, available`)),
    item({ "data-status": "available", "aria-pressed": "true" }, "", "your selection"),
    item({ "data-status": "held", "data-mine": "true", "aria-pressed": "true" }, "", "held by you"),
    item({ "data-status": "held" }, "", "held by someone else"),
    item({ "data-status": "sold" }, "", "sold"),
    item({ "data-status": "blocked" }, "", "not for sale"),
    hasAccessible && item({ "data-status": "available", "data-accessible": "true" }, "♿", "wheelchair space"),
    hasGroups && h("li", {},
      h("span", { class: "seat sample", "data-status": "available", "data-group": "first", "aria-hidden": "true" }),
      h("span", { class: "seat sample", "data-status": "available", "data-group": "last", "aria-hidden": "true" }),
      " ", "seats sold together (love seat)"),
  );
}
