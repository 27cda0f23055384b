package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// redisBuckets are the Redis command duration histogram's upper bounds, in seconds: a command
// on a healthy network takes well under a millisecond; REDIS_TIMEOUT defaults to 300ms.
var redisBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}

// redisCommandNames are the command label's values: the commands boxoffice and its libraries
// send, "pipeline" for a pipeline or transaction, and "other" for anything else.
var redisCommandNames = []string{
	"pipeline", "other",
	"evalsha", "eval", "evalsha_ro", "eval_ro", "script", "fcall",
	"get", "set", "setnx", "setex", "psetex", "getdel", "getex", "mget", "mset", "del", "unlink",
	"exists", "expire", "pexpire", "expireat", "pexpireat", "ttl", "pttl", "persist", "type",
	"incr", "incrby", "decr", "decrby",
	"hget", "hset", "hsetnx", "hmget", "hmset", "hgetall", "hdel", "hincrby", "hexists", "hlen", "hkeys",
	"zadd", "zrem", "zcard", "zscore", "zrange", "zrangebyscore", "zrevrange", "zrevrangebyscore",
	"zremrangebyscore", "zremrangebyrank", "zcount",
	"sadd", "srem", "smembers", "sismember", "scard",
	"lpush", "rpush", "lpop", "rpop", "lrange", "ltrim", "llen",
	"xadd", "xrange", "xrevrange", "xtrim", "xlen", "xread",
	"publish", "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ping",
	"scan", "keys", "randomkey", "dbsize", "info", "wait", "watch", "unwatch", "multi", "exec",
	"hello", "auth", "select", "client", "cluster", "command", "readonly", "flushdb", "flushall",
}

// redisCommand observes one command name; its series are made on first use.
type redisCommand struct {
	name   string
	series atomic.Pointer[redisSeries]
}

type redisSeries struct {
	duration prometheus.Observer
	errors   prometheus.Counter
}

func (m *Metrics) initRedis() {
	m.redisDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "redis_command_duration_seconds",
		Help:    "Time of Redis commands as the client sees it (retries included), by lower-case command name (\"pipeline\" for pipelines and transactions).",
		Buckets: redisBuckets,
	}, []string{"command"})
	m.redisErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "redis_command_errors_total",
		Help: "Redis commands that failed (a nil reply is not a failure), by lower-case command name.",
	}, []string{"command"})
	m.reg.MustRegister(m.redisDuration, m.redisErrors)
	m.redisCommands = make(map[string]*redisCommand, len(redisCommandNames))
	for _, n := range redisCommandNames {
		m.redisCommands[n] = &redisCommand{name: n}
	}
}

// ObserveRedisCommand counts one Redis command: name is its lower-case name ("pipeline" for a
// pipeline; a name outside the known commands counts as "other"), d how long it took and
// failed whether it failed (a refused connection handshake, HELLO or CLIENT, is not counted
// as a failure). Keys never become labels. It implements session.CommandObserver.
func (m *Metrics) ObserveRedisCommand(name string, d time.Duration, failed bool) {
	c := m.redisCommands[name]
	if c == nil {
		c = m.redisCommands["other"]
	}
	s := c.series.Load()
	if s == nil {
		s = &redisSeries{duration: m.redisDuration.WithLabelValues(c.name), errors: m.redisErrors.WithLabelValues(c.name)}
		if !c.series.CompareAndSwap(nil, s) {
			s = c.series.Load()
		}
	}
	s.duration.Observe(d.Seconds())
	if failed && !handshake[c.name] {
		s.errors.Inc()
	}
}

// handshake are the commands go-redis sends when it opens a connection to learn what the
// server supports; a refusal is an answer it expects (it falls back), not a failure.
var handshake = set("hello", "client")

// RedisPool is a snapshot of the Redis client's connection pool, summed over the nodes of a
// Cluster.
type RedisPool struct {
	Hits, Misses, Timeouts uint64 // since start: a free connection was found; was not; a wait for one timed out
	StaleConns             uint64 // since start: stale connections removed
	TotalConns, IdleConns  uint64 // now
}

// RegisterRedisPool exports stats, called once per scrape, as boxoffice_redis_pool_*.
func (m *Metrics) RegisterRedisPool(stats func() RedisPool) {
	m.reg.MustRegister(&snapshotCollector[RedisPool]{snapshot: stats, fields: []snapshotField[RedisPool]{
		counterField("redis_pool_hits_total", "Times a free connection was found in the Redis pool.", func(s RedisPool) float64 { return float64(s.Hits) }),
		counterField("redis_pool_misses_total", "Times no free connection was in the Redis pool (a new one was dialled or waited for).", func(s RedisPool) float64 { return float64(s.Misses) }),
		counterField("redis_pool_timeouts_total", "Times a wait for a Redis connection timed out.", func(s RedisPool) float64 { return float64(s.Timeouts) }),
		counterField("redis_pool_stale_conns_total", "Stale connections removed from the Redis pool.", func(s RedisPool) float64 { return float64(s.StaleConns) }),
		gaugeField("redis_pool_total_conns", "Connections in the Redis pool.", func(s RedisPool) float64 { return float64(s.TotalConns) }),
		gaugeField("redis_pool_idle_conns", "Idle connections in the Redis pool.", func(s RedisPool) float64 { return float64(s.IdleConns) }),
	}})
}
