package accounts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"capeval/models"
)

// tokenIssuerName is the iss claim of every capeval token.
const tokenIssuerName = "capeval"

// tokenClaims are the claims of a capeval login token. TokenVersion is the
// user's token_version when the token was issued: logout, a password change
// and disabling bump the stored version, which revokes every older token at
// once without any server-side session state.
type tokenClaims struct {
	Role         string `json:"role"`
	TokenVersion int64  `json:"tv"`
	jwt.RegisteredClaims
}

// tokenIssuer signs HS256 login tokens with key and verifies them with key
// or, before previousUntil, with previous.
type tokenIssuer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
	// previous verifies tokens during a secret rotation; it never signs.
	previous      []byte
	previousUntil time.Time
}

func (t *tokenIssuer) issue(userID int64, role models.Role, tokenVersion int64) (string, time.Time, error) {
	if len(t.key) == 0 {
		return "", time.Time{}, ErrNoSecret
	}
	now := t.now()
	exp := now.Add(t.ttl)
	claims := tokenClaims{
		Role:         string(role),
		TokenVersion: tokenVersion,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    tokenIssuerName,
			Subject:   strconv.FormatInt(userID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("accounts: sign token: %w", err)
	}
	return signed, exp, nil
}

// parse verifies the signature (HS256 only: other algorithms, `none`
// included, are rejected before the key is used), expiry and issuer. A
// token whose signature does not match the current key is tried with the
// previous one while its grace period lasts; every other check is the same
// for both keys.
func (t *tokenIssuer) parse(raw string) (int64, *tokenClaims, error) {
	if len(t.key) == 0 {
		return 0, nil, fmt.Errorf("%w: %w", ErrInvalidToken, ErrNoSecret)
	}
	claims, err := t.parseWith(raw, t.key)
	if errors.Is(err, jwt.ErrTokenSignatureInvalid) && len(t.previous) > 0 && t.now().Before(t.previousUntil) {
		claims, err = t.parseWith(raw, t.previous)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	userID, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || userID <= 0 {
		return 0, nil, fmt.Errorf("%w: subject %q", ErrInvalidToken, claims.Subject)
	}
	return userID, claims, nil
}

func (t *tokenIssuer) parseWith(raw string, key []byte) (*tokenClaims, error) {
	claims := &tokenClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuerName),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
	)
	return claims, err
}

// Session is a login token with what it stands for.
type Session struct {
	Token     string
	ExpiresAt time.Time
	User      *models.User
}

// Issue signs a token for u at its current token version.
func (s *Service) Issue(u *models.User) (*Session, error) {
	token, exp, err := s.tokens.issue(u.ID, u.Role, u.TokenVersion)
	if err != nil {
		return nil, err
	}
	return &Session{Token: token, ExpiresAt: exp.UTC(), User: u}, nil
}

// Authenticate returns the account a token stands for. It reads the
// account on every call, so that a disabled account or a revoked token is
// refused at once. Every refusal is ErrInvalidToken (wrapped with the
// reason, for the log); other errors are the store's.
func (s *Service) Authenticate(ctx context.Context, raw string) (*models.User, error) {
	userID, claims, err := s.tokens.parse(raw)
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, userID)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil, fmt.Errorf("%w: user %d does not exist", ErrInvalidToken, userID)
	case err != nil:
		return nil, fmt.Errorf("accounts: authenticate: %w", err)
	case u.Disabled:
		return nil, fmt.Errorf("%w: user %d is disabled", ErrInvalidToken, userID)
	case u.TokenVersion != claims.TokenVersion:
		return nil, fmt.Errorf("%w: user %d's token version is %d, the token's %d", ErrInvalidToken, userID, u.TokenVersion, claims.TokenVersion)
	}
	return u, nil
}

// Logout revokes every token of the user issued so far.
func (s *Service) Logout(ctx context.Context, userID int64) error {
	if _, err := s.store.BumpTokenVersion(ctx, userID); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("%w: user %d", ErrNotFound, userID)
		}
		return fmt.Errorf("accounts: logout: %w", err)
	}
	return nil
}
