// The API's types, taken from the TypeScript SDK's schema (generated from openapi.yaml), so
// that this client breaks at build time when the contract changes. Type-only: nothing of the
// SDK ends up in the bundle.
import type { components } from "../../clients/ts/src/schema";

type S = components["schemas"];
export type User = S["User"];
export type CookieSession = S["CookieSessionResponse"];
export type SessionSummary = S["SessionSummary"];
export type SessionList = S["SessionList"];
export type Movie = S["Movie"];
export type MoviePage = S["MoviePage"];
export type Cinema = S["Cinema"];
export type CinemaList = S["CinemaList"];
export type Screening = S["Screening"];
export type ScreeningPage = S["ScreeningPage"];
export type Seat = S["SeatMapSeat"];
export type SeatStatus = S["SeatStatus"];
export type SeatMap = S["SeatMap"];
export type Hold = S["Hold"];
export type Order = S["Order"];
export type OrderList = S["OrderList"];
export type Money = S["Money"];

// The live seat map stream (GET /v1/screenings/{id}/seats/events, Server-Sent Events).
export interface SeatsEvent {
  screening_id: string;
  version: number;
  seats: { id: string; status: SeatStatus }[];
  at: string;
}
export interface VersionEvent {
  screening_id: string;
  version: number;
}
