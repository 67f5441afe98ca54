package accounts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
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
)

// Password length rules, in bytes.
const (
	// MinPasswordLength is the shortest password accepted anywhere.
	MinPasswordLength = 8
	// MaxPasswordLength bounds what is hashed.
	MaxPasswordLength = 1024
)

// checkNewPassword applies the password rules; field names the input.
func checkNewPassword(field, password string) error {
	switch {
	case len(password) < MinPasswordLength:
		return fieldError(field, "password must have at least %d characters", MinPasswordLength)
	case len(password) > MaxPasswordLength:
		return fieldError(field, "password must have at most %d characters", MaxPasswordLength)
	}
	return nil
}

// hashPassword returns an argon2id hash in the PHC string format.
func hashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("accounts: password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// checkPassword reports whether password matches the PHC-format hash.
func checkPassword(hash, password string) bool {
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
	// A hash whose parameters ask for more than ours is not one we wrote:
	// refuse it rather than let a stored value cost unbounded memory.
	if mem > 4*argonMemoryKiB || iters > 8*argonTime || threads == 0 || threads > 4 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, iters, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when a login names an unknown email, so that the
// answer takes as long as for a real account and does not reveal which
// emails exist. It is made on first use, not at start-up.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashPassword("not-a-real-password")
	if err != nil {
		panic(err) // crypto/rand failing leaves nothing to do
	}
	return h
})

// hashPool bounds the argon2 computations running at once: each takes
// 19 MiB and a core for tens of milliseconds, so an unbounded number would
// let a burst of logins exhaust memory and starve everything else. A few
// more may wait for a worker; beyond that the pool answers ErrBusy at once,
// which costs the client a retry instead of the server a queue.
type hashPool struct {
	slots   chan struct{}
	queue   int64
	waiting atomic.Int64
}

func newHashPool(workers, queue int) *hashPool {
	return &hashPool{slots: make(chan struct{}, workers), queue: int64(queue)}
}

// do runs fn on a worker, waiting for one only while the queue has room.
func (p *hashPool) do(ctx context.Context, fn func()) error {
	select {
	case p.slots <- struct{}{}:
	default:
		if p.waiting.Add(1) > p.queue {
			p.waiting.Add(-1)
			return ErrBusy
		}
		select {
		case p.slots <- struct{}{}:
			p.waiting.Add(-1)
		case <-ctx.Done():
			p.waiting.Add(-1)
			return fmt.Errorf("accounts: waiting for a hashing worker: %w", ctx.Err())
		}
	}
	defer func() { <-p.slots }()
	fn()
	return nil
}

// verify checks password against hash on the pool.
func (s *Service) verify(ctx context.Context, hash, password string) (bool, error) {
	var ok bool
	err := s.pool.do(ctx, func() {
		if s.beforeHash != nil {
			s.beforeHash()
		}
		ok = checkPassword(hash, password)
	})
	return ok, err
}

// hash makes the hash of a new password on the pool.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	var h string
	var herr error
	err := s.pool.do(ctx, func() {
		if s.beforeHash != nil {
			s.beforeHash()
		}
		h, herr = hashPassword(password)
	})
	if err != nil {
		return "", err
	}
	return h, herr
}
