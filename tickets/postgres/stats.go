package postgres

import "time"

// PoolStats is a snapshot of the store's connection pool.
type PoolStats struct {
	AcquiredConns, IdleConns, TotalConns, MaxConns int32 // now
	// Since Open: connections acquired; acquisitions that waited because none was idle;
	// acquisitions cancelled by their context; and the time spent acquiring.
	AcquireCount, EmptyAcquireCount, CanceledAcquireCount int64
	AcquireDuration                                       time.Duration
}

// PoolStats returns the connection pool's statistics (pgxpool.Stat). It is cheap: no
// connection is used.
func (s *Store) PoolStats() PoolStats {
	st := s.pool.Stat()
	return PoolStats{
		AcquiredConns: st.AcquiredConns(), IdleConns: st.IdleConns(), TotalConns: st.TotalConns(),
		MaxConns: st.MaxConns(), AcquireCount: st.AcquireCount(), EmptyAcquireCount: st.EmptyAcquireCount(),
		CanceledAcquireCount: st.CanceledAcquireCount(), AcquireDuration: st.AcquireDuration(),
	}
}
