package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/argon2"

	"capeval/models"
)

// Password hashing parameters: argon2id with OWASP's recommended minimum
// (19 MiB, 2 passes, 1 lane). The parameters are stored in each hash, so they
// can be raised later without invalidating existing passwords.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	saltLen        = 16

	// MinPasswordLength is the shortest password accepted anywhere.
	MinPasswordLength = 8
)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", fmt.Errorf("password is shorter than %d characters", MinPasswordLength)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("server: password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// dummyHash is compared against when a login names an unknown email, so that
// the response time does not reveal which emails exist.
var dummyHash, _ = HashPassword("not-a-real-password")

// CheckPassword reports whether password matches the PHC-format hash.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var mem, iters uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, iters, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// tokenClaims are the claims of a capeval login token. TokenVersion is the
// user's token_version when the token was issued: logout and password change
// bump the stored version, which revokes every older token at once.
type tokenClaims struct {
	Role         string `json:"role"`
	TokenVersion int64  `json:"tv"`
	jwt.RegisteredClaims
}

// tokenIssuer signs and verifies HS256 login tokens.
type tokenIssuer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

const tokenIssuerName = "capeval"

func (t *tokenIssuer) issue(userID int64, role models.Role, tokenVersion int64) (string, time.Time, error) {
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
		return "", time.Time{}, fmt.Errorf("server: sign token: %w", err)
	}
	return signed, exp, nil
}

// errBadToken is returned for any token that fails verification; the reason
// is logged, never told to the client.
var errBadToken = errors.New("invalid or expired token")

// parse verifies the signature (HS256 only: other algorithms, `none`
// included, are rejected before the key is used), expiry and issuer.
func (t *tokenIssuer) parse(raw string) (userID int64, claims *tokenClaims, err error) {
	claims = &tokenClaims{}
	_, err = jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuerName),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", errBadToken, err)
	}
	userID, err = strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || userID <= 0 {
		return 0, nil, fmt.Errorf("%w: subject %q", errBadToken, claims.Subject)
	}
	return userID, claims, nil
}
