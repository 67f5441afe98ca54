package models

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// CreateUser inserts u and sets its ID and timestamps. The email is trimmed;
// its case is kept, but uniqueness and lookups ignore it. A duplicate email
// is ErrConflict; an unknown role or an empty email is ErrInvalid.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	u.Email = strings.TrimSpace(u.Email)
	if u.Email == "" {
		return fmt.Errorf("models: create user: empty email: %w", ErrInvalid)
	}
	if !u.Role.Valid() {
		return fmt.Errorf("models: create user %s: unknown role %q (want admin, lead or annotator): %w", u.Email, u.Role, ErrInvalid)
	}
	u.ID = 0
	if err := s.conn(ctx).Create(u).Error; err != nil {
		return wrap(err, "create user %s", u.Email)
	}
	return nil
}

// UserByID returns the user with id, or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (*User, error) {
	var u User
	if err := s.conn(ctx).Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, wrap(err, "user %d", id)
	}
	return &u, nil
}

// UserByEmail returns the user whose email equals email ignoring case and
// surrounding spaces, or ErrNotFound. The query matches the expression index
// on lower(email).
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	email = strings.TrimSpace(email)
	if err := s.conn(ctx).Where("lower(email) = lower(?)", email).Take(&u).Error; err != nil {
		return nil, wrap(err, "user by email %s", email)
	}
	return &u, nil
}

// ListUsers returns every user in ID order.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	var users []User
	if err := s.conn(ctx).Order("id").Find(&users).Error; err != nil {
		return nil, wrap(err, "list users")
	}
	return users, nil
}

// CountUsers returns the number of users (the first-run check: no users yet).
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.conn(ctx).Model(&User{}).Count(&n).Error; err != nil {
		return 0, wrap(err, "count users")
	}
	return n, nil
}

// SetUserDisabled disables or re-enables a user. Disabling also bumps the
// token version, so a disabled user's tokens stay revoked even after being
// enabled again.
func (s *Store) SetUserDisabled(ctx context.Context, id int64, disabled bool) error {
	cols := map[string]any{"disabled": disabled, "updated_at": nowUTC()}
	if disabled {
		cols["token_version"] = gorm.Expr("token_version + 1")
	}
	res := s.conn(ctx).Model(&User{}).Where("id = ?", id).Updates(cols)
	if res.Error != nil {
		return wrap(res.Error, "set user %d disabled=%t", id, disabled)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: set user %d disabled=%t: %w", id, disabled, ErrNotFound)
	}
	return nil
}

// SetUserPassword stores a new password hash and bumps the token version, so
// every token issued before the change is refused.
func (s *Store) SetUserPassword(ctx context.Context, id int64, passwordHash string) error {
	if passwordHash == "" {
		return fmt.Errorf("models: set password of user %d: empty hash: %w", id, ErrInvalid)
	}
	res := s.conn(ctx).Model(&User{}).Where("id = ?", id).Updates(map[string]any{
		"password_hash": passwordHash,
		"token_version": gorm.Expr("token_version + 1"),
		"updated_at":    nowUTC(),
	})
	if res.Error != nil {
		return wrap(res.Error, "set password of user %d", id)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: set password of user %d: %w", id, ErrNotFound)
	}
	return nil
}

// BumpTokenVersion increments a user's token version (logout everywhere) and
// returns the new version.
func (s *Store) BumpTokenVersion(ctx context.Context, id int64) (int64, error) {
	var rows []User
	res := s.conn(ctx).Model(&rows).
		Clauses(clause.Returning{Columns: []clause.Column{{Name: "token_version"}}}).
		Where("id = ?", id).
		Updates(map[string]any{"token_version": gorm.Expr("token_version + 1"), "updated_at": nowUTC()})
	if res.Error != nil {
		return 0, wrap(res.Error, "bump token version of user %d", id)
	}
	if res.RowsAffected == 0 || len(rows) == 0 {
		return 0, fmt.Errorf("models: bump token version of user %d: %w", id, ErrNotFound)
	}
	return rows[0].TokenVersion, nil
}

// EnabledAnnotators returns, in ID order, the enabled annotator accounts
// whose ID is in ids or whose email equals one of emails (ignoring case and
// surrounding spaces, as UserByEmail). Admins, leads, disabled accounts and
// references that match nothing are simply absent, so that a caller can
// refuse them all alike without learning which of them exist.
func (s *Store) EnabledAnnotators(ctx context.Context, ids []int64, emails []string) ([]User, error) {
	users := []User{}
	if len(ids) == 0 && len(emails) == 0 {
		return users, nil
	}
	db := s.conn(ctx)
	match := db.Where("id IN ?", append([]int64{0}, ids...)) // 0 matches no row; an empty IN is not portable
	for _, e := range emails {
		match = match.Or("lower(email) = lower(?)", strings.TrimSpace(e))
	}
	err := db.Where("role = ? AND disabled = ?", RoleAnnotator, false).Where(match).Order("id").Find(&users).Error
	if err != nil {
		return nil, wrap(err, "enabled annotators")
	}
	return users, nil
}
