// Package accounts holds capeval's user accounts: creating them with their
// validation rules, argon2id password hashing on a bounded pool, login with
// per-client backoff and a global ceiling on failed checks, HS256 login
// tokens revoked by a per-user token version, logout, password changes and
// disabling. The HTTP server and the command line both call it; it returns
// plain errors of its own (ErrInvalidCredentials, *ThrottledError,
// *FieldError, …) that each caller maps to its way of saying them.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"capeval/models"
)

// Store is what the accounts service needs from the database.
type Store interface {
	UserByID(ctx context.Context, id int64) (*models.User, error)
	UserByEmail(ctx context.Context, email string) (*models.User, error)
	ListUsers(ctx context.Context) ([]models.User, error)
	CreateUser(ctx context.Context, u *models.User) error
	SetUserDisabled(ctx context.Context, id int64, disabled bool) error
	SetUserPassword(ctx context.Context, id int64, hash string) error
	BumpTokenVersion(ctx context.Context, id int64) (int64, error)
}

// MinSecretLength is the shortest HMAC key New accepts, in bytes.
const MinSecretLength = 32

// Config is what New needs besides the store and the logger.
type Config struct {
	// Secret is the HMAC key of the login tokens, at least MinSecretLength
	// bytes. Every replica that shares a database must use the same one.
	// Empty means a service that issues and accepts no tokens: the command
	// line's, which manages accounts and signs nobody in.
	Secret string
	// TokenTTL is the lifetime of a login token; it goes with Secret.
	TokenTTL time.Duration
	// PreviousSecret is a second HMAC key that tokens are verified with,
	// never signed with, until PreviousUntil: the key being rotated out
	// (or, in the first step of a rotation across replicas, the key being
	// rotated in). It needs Secret, differs from it, and has the same
	// minimum length; PreviousUntil is required with it. Once PreviousUntil
	// has passed, the key is ignored, so a leaked old key stops working on
	// a date that does not depend on anyone remembering to remove it.
	PreviousSecret string
	// PreviousUntil ends PreviousSecret's grace period.
	PreviousUntil time.Time
	// Limits bound password guessing and hashing; zero fields take the
	// defaults of DefaultLimits.
	Limits Limits
	// Now is the clock; nil means time.Now. Tests pass a fake one.
	Now func() time.Time
	// BeforeHash, when set, is called inside the hashing pool just before
	// each argon2 computation (a check or a new hash). It is the place to
	// count the hashes done, as tests do.
	BeforeHash func()
}

// Service is the accounts service. It is safe for concurrent use.
type Service struct {
	store      Store
	log        *slog.Logger
	tokens     tokenIssuer
	limits     Limits
	throttle   *throttle
	pool       *hashPool
	beforeHash func()
}

// New checks cfg and returns the service.
func New(store Store, log *slog.Logger, cfg Config) (*Service, error) {
	if cfg.Secret != "" && len(cfg.Secret) < MinSecretLength {
		return nil, fmt.Errorf("accounts: token secret of %d bytes: want at least %d", len(cfg.Secret), MinSecretLength)
	}
	if cfg.Secret != "" && cfg.TokenTTL <= 0 {
		return nil, fmt.Errorf("accounts: token lifetime %s: want a positive duration", cfg.TokenTTL)
	}
	if err := checkPrevious(cfg); err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	if cfg.PreviousSecret != "" && !now().Before(cfg.PreviousUntil) {
		log.Warn("accounts: the previous token secret's grace period is over; it is ignored and may be removed",
			"until", cfg.PreviousUntil.UTC().Format(time.RFC3339))
	}
	limits := cfg.Limits.withDefaults()
	if err := limits.validate(); err != nil {
		return nil, err
	}
	return &Service{
		store: store,
		log:   log,
		tokens: tokenIssuer{key: []byte(cfg.Secret), ttl: cfg.TokenTTL, now: now,
			previous: []byte(cfg.PreviousSecret), previousUntil: cfg.PreviousUntil},
		limits:     limits,
		throttle:   newThrottle(limits, now),
		pool:       newHashPool(limits.HashWorkers, limits.HashQueue),
		beforeHash: cfg.BeforeHash,
	}, nil
}

// checkPrevious checks the previous secret's settings.
func checkPrevious(cfg Config) error {
	switch {
	case cfg.PreviousSecret == "" && !cfg.PreviousUntil.IsZero():
		return errors.New("accounts: a grace period for the previous token secret, but no previous secret")
	case cfg.PreviousSecret == "":
		return nil
	case cfg.Secret == "":
		return errors.New("accounts: a previous token secret without a current one")
	case len(cfg.PreviousSecret) < MinSecretLength:
		return fmt.Errorf("accounts: previous token secret of %d bytes: want at least %d", len(cfg.PreviousSecret), MinSecretLength)
	case cfg.PreviousSecret == cfg.Secret:
		return errors.New("accounts: the previous token secret is the current one")
	case cfg.PreviousUntil.IsZero():
		return errors.New("accounts: a previous token secret needs the end of its grace period")
	}
	return nil
}

// Limits returns the limits in force, defaults filled in.
func (s *Service) Limits() Limits { return s.limits }

// The errors of the package. Callers tell them apart with errors.Is (and
// errors.As for *FieldError and *ThrottledError).
var (
	// ErrInvalid is wrapped by every *FieldError.
	ErrInvalid = errors.New("accounts: invalid input")
	// ErrInvalidCredentials: the email or the password is wrong; which one
	// is never said.
	ErrInvalidCredentials = errors.New("wrong email or password")
	// ErrWrongPassword: the current password given to ChangePassword is
	// wrong.
	ErrWrongPassword = errors.New("the current password is wrong")
	// ErrThrottled is wrapped by *ThrottledError.
	ErrThrottled = errors.New("too many failed password checks")
	// ErrBusy: every hashing worker is taken and the queue is full; the
	// caller may try again in a moment.
	ErrBusy = errors.New("too many password checks at once: try again in a moment")
	// ErrDisabled: the account is disabled (the password was right).
	ErrDisabled = errors.New("this account is disabled: ask an admin")
	// ErrCannotDisableSelf: an admin tried to disable their own account,
	// which would leave nobody able to undo it from the browser.
	ErrCannotDisableSelf = errors.New("you cannot disable your own account")
	// ErrEmailTaken: another account has this email (ignoring case).
	ErrEmailTaken = errors.New("an account with this email exists already")
	// ErrNotFound: no account has this id or email.
	ErrNotFound = errors.New("no such account")
	// ErrInvalidToken: the token is malformed, signed with another key or
	// algorithm, expired, revoked, or its account is gone or disabled. The
	// reason is logged, never told.
	ErrInvalidToken = errors.New("invalid, expired or revoked token")
	// ErrNoSecret: the service was built without a token secret.
	ErrNoSecret = errors.New("accounts: no token secret configured")
	// ErrPublishedPassword: an account still signs in with a password that
	// is published (the demo's).
	ErrPublishedPassword = errors.New("accounts still have their published passwords")
)

// FieldError is an invalid input; Field names it as the API spells it
// ("email", "role", "password", "new_password").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldError(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ThrottledError refuses a password check: the client, or everyone when
// the global ceiling is reached, must wait RetryAfter.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed password checks: try again in %s", e.RetryAfter.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrThrottled) hold.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }
