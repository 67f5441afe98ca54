package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"capeval/models"
)

// Login checks email and password for a client at clientIP and returns a
// session. The attempt is counted before the password is hashed (see
// Limits): a refused one is *ThrottledError, a full hashing pool ErrBusy,
// a wrong email or password ErrInvalidCredentials (the same for both,
// and as slow), a right password of a disabled account ErrDisabled.
func (s *Service) Login(ctx context.Context, email, password, clientIP string) (*Session, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return nil, fieldError("email", "email is required")
	}
	if password == "" {
		return nil, fieldError("password", "password is required")
	}
	tk, err := s.throttle.admit(s.throttle.attemptKeys(email, clientIP))
	if err != nil {
		s.log.WarnContext(ctx, "login throttled", "email", email, "remote", clientIP, "err", err)
		return nil, err
	}
	u, err := s.store.UserByEmail(ctx, email)
	hash := ""
	switch {
	case errors.Is(err, models.ErrNotFound):
		hash = dummyHash() // the same work as a real check
	case err != nil:
		tk.release()
		return nil, fmt.Errorf("accounts: login: %w", err)
	default:
		hash = u.PasswordHash
	}
	ok, err := s.verify(ctx, hash, password)
	if err != nil {
		tk.release()
		return nil, err
	}
	if u == nil || !ok {
		tk.fail()
		s.log.WarnContext(ctx, "login failed", "email", email, "remote", clientIP)
		return nil, ErrInvalidCredentials
	}
	tk.succeed()
	if u.Disabled {
		return nil, ErrDisabled
	}
	s.log.InfoContext(ctx, "login", "user_id", u.ID, "role", u.Role, "remote", clientIP)
	return s.Issue(u)
}

// ChangePassword changes u's password after checking the current one,
// which is throttled like a login (a stolen session must not be a way to
// guess it), revokes every other token and returns a fresh session, so the
// client that changed it stays signed in. A wrong current password is
// ErrWrongPassword; an invalid new one a *FieldError on "new_password".
func (s *Service) ChangePassword(ctx context.Context, u *models.User, current, next, clientIP string) (*Session, error) {
	if err := checkNewPassword("new_password", next); err != nil {
		return nil, err
	}
	if current == "" {
		return nil, fieldError("current_password", "current password is required")
	}
	tk, err := s.throttle.admit(s.throttle.attemptKeys(strings.ToLower(u.Email), clientIP))
	if err != nil {
		s.log.WarnContext(ctx, "password change throttled", "user_id", u.ID, "remote", clientIP, "err", err)
		return nil, err
	}
	ok, err := s.verify(ctx, u.PasswordHash, current)
	if err != nil {
		tk.release()
		return nil, err
	}
	if !ok {
		tk.fail()
		s.log.WarnContext(ctx, "password change: wrong current password", "user_id", u.ID, "remote", clientIP)
		return nil, ErrWrongPassword
	}
	tk.succeed()
	hash, err := s.hash(ctx, next)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetUserPassword(ctx, u.ID, hash); err != nil {
		return nil, fmt.Errorf("accounts: change password of user %d: %w", u.ID, err)
	}
	fresh, err := s.store.UserByID(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	s.log.InfoContext(ctx, "password changed", "user_id", u.ID)
	return s.Issue(fresh)
}
