// Package ticketstest holds what tests of tickets.Store adapters share: the conformance suite
// that tickets/postgres and tickets/sqlite both run (Run), a catalogue fixture (Fixture), and
// a throwaway-database helper.
package ticketstest

import (
	"testing"

	"boxoffice/tickets"
)

// Run runs the conformance suite: one subtest per case of the contract documented on
// tickets.Store, each asserting the state an operation leaves behind as well as its result.
//
// open is called once per subtest and must return a fresh, empty, migrated store that it
// closes itself when the subtest ends (t.Cleanup). The subtests run one after another and
// share nothing.
//
// The store's clock must be the host's (PostgreSQL's now() on the same machine, or an
// injected clock that follows time.Now): fixtures schedule screenings relative to
// time.Now, and the expiry cases take one-second holds and poll GetHold, sleeping in small
// steps, until the store's own ServerTime has passed their deadline (they fail after 30 s).
// No case asserts how long anything took.
func Run(t *testing.T, open func(t *testing.T) tickets.Store) {
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) { c.run(t, open(t)) })
			}
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, s tickets.Store)
}

var groups = []struct {
	name  string
	cases []testCase
}{
	{"Catalogue", []testCase{
		{"PutMovieCreatesThenReplaces", testPutMovie},
		{"MoviesPageByTitleThenID", testMoviesPaging},
		{"CinemasWithHallSummaries", testCinemas},
		{"HallRoundTrip", testHallRoundTrip},
		{"PutHallUnknownCinemaOrMove", testPutHallRefused},
		{"PutHallLayoutInUse", testPutHallInUse},
	}},
	{"Screenings", []testCase{
		{"CreateRoundTrip", testCreateScreening},
		{"CreateRefused", testCreateScreeningRefused},
		{"HallBusyIncludesCleaning", testHallBusy},
		{"FiltersAndPaging", testScreeningsQuery},
	}},
	{"Holds", []testCase{
		{"HoldClaimsSeats", testHold},
		{"OverlapIsAllOrNothing", testHoldConflict},
		{"SameUserReplaces", testHoldReplaces},
		{"FailedReplacementKeepsOriginal", testFailedReplacement},
		{"PlanErrorChangesNothing", testPlanError},
		{"RefusedScreenings", testHoldRefused},
	}},
	{"Expiry", []testCase{
		{"LazyExpiryThenSweep", testLazyExpiry},
		{"SweepLimitAndActiveHolds", testSweepLimit},
	}},
	{"Claims", []testCase{
		{"ReleaseHold", testReleaseHold},
		{"SessionHolds", testSessionHolds},
		{"SetBlocked", testSetBlocked},
		{"CancelScreening", testCancelScreening},
	}},
	{"Orders", []testCase{
		{"BeginThenSucceed", testOrderSucceeded},
		{"KeyReusedForAnotherRequest", testOrderKeyReused},
		{"KeyInFlight", testOrderInFlight},
		{"LeaseEndedTakenOver", testOrderTakenOver},
		{"HoldAlreadyOrdered", testOrderExists},
		{"HoldRefused", testOrderHoldRefused},
		{"DeclinedOrCancelledPayment", testOrderDeclined},
		{"PendingThenSucceeded", testOrderPendingThenSucceeded},
		{"LatePaymentReclaimed", testLateReclaimed},
		{"LatePaymentRefunded", testLateRefunded},
		{"SucceededAfterDecline", testSucceededAfterDecline},
		{"FinishAgainChangesNothing", testFinishTwice},
		{"CancelOrder", testCancelOrder},
		{"CancelScreeningRefundsOrders", testCancelScreeningOrders},
		{"PendingRefunds", testPendingRefunds},
		{"StalledOrders", testStalledOrders},
		{"OrdersNewestFirst", testOrdersPaging},
		{"ConcurrentSameKey", testConcurrentSameKey},
		{"ConcurrentKeysOneHold", testConcurrentOneHold},
		{"ConcurrentFinishes", testConcurrentFinishes},
		{"TicketsMustMatchSeats", testTicketsMustMatch},
	}},
	{"SeatEvents", []testCase{
		{"HoldsAndReleases", testSeatEventsHolds},
		{"BlockAndUnblock", testSeatEventsBlocking},
		{"SweepOfExpiredHolds", testSeatEventsSweep},
		{"OrdersSoldAndCancelled", testSeatEventsOrders},
		{"CancelledScreening", testSeatEventsCancelledScreening},
		{"SeveralScreeningsAndSeatVersions", testSeatEventsSeveralScreenings},
		{"Paging", testSeatEventsPaging},
		{"ReplayAfterRandomOperations", testSeatEventsReplay},
		{"ConcurrentChanges", testSeatEventsConcurrent},
		{"PruneKeepsARunEndingAtCurrent", testSeatEventsPrune},
		{"PublishEachOnce", testSeatEventsPublish},
		{"OnePublisherAtATime", testSeatEventsOnePublisher},
		{"SequenceNumbersEachEventOnce", testSeatEventsSequence},
	}},
	{"Invariants", []testCase{
		{"VersionOnlyGrows", testVersionMonotonic},
		{"HoldsAreNeverDeleted", testNothingDeleted},
		{"ConcurrentOverlappingHolds", testConcurrentHolds},
	}},
}
