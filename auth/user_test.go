package auth_test

import (
	"testing"

	"boxoffice/auth"
)

func TestUserHasRole(t *testing.T) {
	tests := []struct {
		name  string
		roles []string
		role  string
		want  bool
	}{
		{"nil roles", nil, auth.RoleAdmin, false},
		{"empty roles", []string{}, auth.RoleAdmin, false},
		{"admin", []string{auth.RoleAdmin}, auth.RoleAdmin, true},
		{"admin among others", []string{"user", auth.RoleAdmin, "x"}, auth.RoleAdmin, true},
		{"case sensitive", []string{"Admin"}, auth.RoleAdmin, false},
		{"no prefix match", []string{"administrator"}, auth.RoleAdmin, false},
		{"empty role asked", []string{auth.RoleAdmin}, "", false},
		{"empty role present", []string{""}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := auth.User{Roles: tt.roles}
			if got := u.HasRole(tt.role); got != tt.want {
				t.Fatalf("HasRole(%q) with roles %q = %v, want %v", tt.role, tt.roles, got, tt.want)
			}
		})
	}
}
