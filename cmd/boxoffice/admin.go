package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/audit"
	"boxoffice/audit/redisaudit"
	"boxoffice/auth"
	"boxoffice/session"
)

// adminCommand manages roles from the command line, directly in Redis:
//
//	boxoffice admin grant <username>    give the user the admin role
//	boxoffice admin revoke <username>   take it away
//	boxoffice admin show <username>     print the user's id and roles
//
// It is how the first administrator is made: there is no default account or password. A grant
// or revocation that changes the user's roles is recorded as an audit event (authz_change) in
// the audit stream (BOXOFFICE_AUDIT_LOG) and Redis, like the server's events.
func adminCommand(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || !slices.Contains([]string{"grant", "revoke", "show"}, args[0]) {
		return errors.New("usage: boxoffice admin grant|revoke|show <username>")
	}
	if !cfg.externalRedis() {
		return errors.New("admin commands need REDIS_URL, REDIS_CLUSTER_ADDRS or REDIS_SENTINEL_ADDRS: the embedded Redis lives only inside a running server")
	}
	rdb, err := session.NewClient(session.ClientConfig{URL: cfg.RedisURL, ClusterAddrs: cfg.ClusterAddrs,
		SentinelAddrs: cfg.SentinelAddrs, MasterName: cfg.SentinelMaster, Username: cfg.RedisUsername,
		Password: cfg.RedisPassword, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer rdb.Close()
	store, err := session.New(rdb, session.DefaultConfig())
	if err != nil {
		return err
	}
	users := store.Users()
	name, err := auth.CanonicalUsername(args[1])
	if err != nil {
		return fmt.Errorf("username: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u, err := users.UserByUsername(ctx, name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	wasAdmin := u.HasRole(auth.RoleAdmin)
	roles := slices.DeleteFunc(slices.Clone(u.Roles), func(r string) bool { return r == auth.RoleAdmin })
	switch args[0] {
	case "grant":
		roles = append(roles, auth.RoleAdmin)
	case "show":
		fmt.Fprintf(stdout, "%s id=%s roles=%v\n", u.Username, u.ID, u.Roles)
		return nil
	}
	if err := users.SetRoles(ctx, u.ID, roles); err != nil {
		return err
	}
	if isAdmin := args[0] == "grant"; isAdmin != wasAdmin {
		reason := "admin_revoked"
		if isAdmin {
			reason = "admin_granted"
		}
		if err := recordRoleChange(ctx, cfg, rdb, stdout, stderr, audit.Event{Type: audit.AuthzChange, UserID: u.ID, Reason: reason}); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%s id=%s roles=%v\n", u.Username, u.ID, roles)
	return nil
}

// recordRoleChange records e like the server records its events: in the audit stream and in
// Redis (a failure to keep it is logged as JSON on stderr, and the role change stands).
func recordRoleChange(ctx context.Context, cfg config, rdb redis.UniversalClient, stdout, stderr io.Writer, e audit.Event) error {
	out, closeLog, err := openAuditLog(cfg.AuditLog, stdout, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	now := clock(cfg)
	kept := redisaudit.New(rdb, redisaudit.Config{MaxPerUser: cfg.AuditMaxPerUser, MaxEvents: cfg.AuditMaxEvents,
		Retention: cfg.AuditRetention, Now: now})
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	newAuditRecorder(out, kept, cfg.RedisTimeout, log, now, nil).Record(ctx, e)
	return nil
}
