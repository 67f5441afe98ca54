package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"capeval/models"
)

// NewUser is what Create needs for an account. Name may be empty (the part
// of the email before @ is used).
type NewUser struct {
	Email    string
	Name     string
	Role     string
	Password string
}

// Prepare validates in and hashes its password, returning the account to
// store; the caller stores it (the demo creates its accounts in the same
// transaction as its campaign). Create does both.
func (s *Service) Prepare(ctx context.Context, in NewUser) (*models.User, error) {
	email := strings.TrimSpace(in.Email)
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email {
		return nil, fieldError("email", "email %q is not a valid address", email)
	}
	if !models.Role(in.Role).Valid() {
		return nil, fieldError("role", "role %q: want admin, lead or annotator", in.Role)
	}
	if err := checkNewPassword("password", in.Password); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = email[:strings.LastIndex(email, "@")]
	}
	hash, err := s.hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	return &models.User{Email: strings.ToLower(email), Name: name, Role: models.Role(in.Role), PasswordHash: hash}, nil
}

// Create validates, hashes and stores a new account. A taken email is
// ErrEmailTaken; an invalid field a *FieldError.
func (s *Service) Create(ctx context.Context, in NewUser) (*models.User, error) {
	u, err := s.Prepare(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, models.ErrConflict) {
			return nil, fmt.Errorf("%w: %s", ErrEmailTaken, u.Email)
		}
		return nil, fmt.Errorf("accounts: create %s: %w", u.Email, err)
	}
	s.log.InfoContext(ctx, "user created", "user_id", u.ID, "role", u.Role)
	return u, nil
}

// List returns every account in ID order.
func (s *Service) List(ctx context.Context) ([]models.User, error) {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("accounts: list: %w", err)
	}
	return users, nil
}

// ByEmail returns the account with email (ignoring case), or ErrNotFound.
func (s *Service) ByEmail(ctx context.Context, email string) (*models.User, error) {
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("%w with email %s", ErrNotFound, strings.TrimSpace(email))
	} else if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return u, nil
}

// SetDisabled disables or re-enables account id on behalf of actorID (0
// for the command line, which acts for the operator rather than for an
// account). Disabling revokes the account's tokens at once; nobody may
// disable themself. It returns the account as it is now.
func (s *Service) SetDisabled(ctx context.Context, actorID, id int64, disabled bool) (*models.User, error) {
	if disabled && id == actorID {
		return nil, ErrCannotDisableSelf
	}
	if err := s.store.SetUserDisabled(ctx, id, disabled); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return nil, fmt.Errorf("%w with id %d", ErrNotFound, id)
		}
		return nil, fmt.Errorf("accounts: set user %d disabled=%t: %w", id, disabled, err)
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	s.log.InfoContext(ctx, "user updated", "user_id", id, "disabled", disabled, "by", actorID)
	return u, nil
}

// SetPassword sets a new password for account id (an operator's reset: no
// current password asked) and revokes its tokens.
func (s *Service) SetPassword(ctx context.Context, id int64, password string) error {
	if err := checkNewPassword("password", password); err != nil {
		return err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	if err := s.store.SetUserPassword(ctx, id, hash); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("%w with id %d", ErrNotFound, id)
		}
		return fmt.Errorf("accounts: set password of user %d: %w", id, err)
	}
	s.log.InfoContext(ctx, "password set", "user_id", id)
	return nil
}

// Credential is an email with a password that anybody may know (the
// demo's published ones).
type Credential struct {
	Email    string
	Password string
}

// RefusePublished returns an error wrapping ErrPublishedPassword that
// names every enabled account of creds that still signs in with its
// published password, and nil when none does. A server reachable from the
// network must not start with such accounts.
func (s *Service) RefusePublished(ctx context.Context, creds []Credential) error {
	var still []string
	for _, c := range creds {
		u, err := s.store.UserByEmail(ctx, c.Email)
		if errors.Is(err, models.ErrNotFound) {
			continue
		} else if err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
		if u.Disabled {
			continue
		}
		ok, err := s.verify(ctx, u.PasswordHash, c.Password)
		if err != nil {
			return err
		}
		if ok {
			still = append(still, u.Email)
		}
	}
	if len(still) > 0 {
		return fmt.Errorf("%w: %s", ErrPublishedPassword, strings.Join(still, ", "))
	}
	return nil
}
