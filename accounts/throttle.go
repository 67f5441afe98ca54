package accounts

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Limits bound password guessing and hashing. Guesses are slowed per key
// with exponential backoff instead of locked out: the keys are the client
// address, and the account together with the client address, so a guesser
// slows down only themself and the owner of the account, signing in from
// elsewhere, is never locked out. A distributed guesser, who has many
// addresses, is bounded by the global ceiling on failed checks.
type Limits struct {
	// FreeFailures is how many failed checks one account may have from one
	// client address before each further attempt must wait (default 5).
	FreeFailures int
	// AddressFreeFailures is the same for one client address over every
	// account (default 20: an office behind one NAT has many users).
	AddressFreeFailures int
	// BaseDelay is the wait after the first failure beyond the free ones,
	// doubled after each further one (default 1s).
	BaseDelay time.Duration
	// MaxDelay caps the wait (default 5m).
	MaxDelay time.Duration
	// Forget is how long a key without any attempt is remembered (default
	// 1h); it must exceed MaxDelay, or waiting would wipe the slate.
	Forget time.Duration
	// GlobalFailures is the ceiling of failed (or still running) checks
	// over all keys per GlobalWindow (default 100 per minute); beyond it
	// every check waits for the next window.
	GlobalFailures int
	// GlobalWindow is the window of GlobalFailures (default 1m).
	GlobalWindow time.Duration
	// HashWorkers is how many argon2 computations run at once (default
	// GOMAXPROCS).
	HashWorkers int
	// HashQueue is how many more may wait for a worker before ErrBusy
	// (default 4 per worker; negative: none may wait).
	HashQueue int
}

// DefaultLimits returns the limits that zero fields take.
func DefaultLimits() Limits {
	workers := runtime.GOMAXPROCS(0)
	return Limits{
		FreeFailures:        5,
		AddressFreeFailures: 20,
		BaseDelay:           time.Second,
		MaxDelay:            5 * time.Minute,
		Forget:              time.Hour,
		GlobalFailures:      100,
		GlobalWindow:        time.Minute,
		HashWorkers:         workers,
		HashQueue:           4 * workers,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	fill := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	fillD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&l.FreeFailures, d.FreeFailures)
	fill(&l.AddressFreeFailures, d.AddressFreeFailures)
	fillD(&l.BaseDelay, d.BaseDelay)
	fillD(&l.MaxDelay, d.MaxDelay)
	fillD(&l.Forget, d.Forget)
	fill(&l.GlobalFailures, d.GlobalFailures)
	fillD(&l.GlobalWindow, d.GlobalWindow)
	fill(&l.HashWorkers, d.HashWorkers)
	if l.HashQueue == 0 {
		l.HashQueue = 4 * l.HashWorkers
	} else if l.HashQueue < 0 {
		l.HashQueue = 0
	}
	return l
}

func (l Limits) validate() error {
	switch {
	case l.FreeFailures < 1 || l.AddressFreeFailures < 1 || l.GlobalFailures < 1 || l.HashWorkers < 1:
		return fmt.Errorf("accounts: limits %+v: counts must be at least 1", l)
	case l.BaseDelay < 0 || l.MaxDelay < l.BaseDelay:
		return fmt.Errorf("accounts: limits: delays %s to %s: want 0 ≤ base ≤ max", l.BaseDelay, l.MaxDelay)
	case l.Forget <= l.MaxDelay:
		return fmt.Errorf("accounts: limits: Forget %s must exceed MaxDelay %s", l.Forget, l.MaxDelay)
	case l.GlobalWindow <= 0:
		return fmt.Errorf("accounts: limits: GlobalWindow %s: want a positive duration", l.GlobalWindow)
	}
	return nil
}

// throttle counts password checks per key and over all keys. An attempt is
// counted when it is admitted, before the password is hashed, as if it
// were going to fail: a burst of parallel guesses therefore sees the count
// of the ones admitted before it, and only the free attempts get checked.
// A success takes its own attempt back (and clears the account's key), so
// it is never slowed by itself. The state is per process: with several
// replicas each keeps its own, which still bounds guessing to replicas ×
// the limits.
type throttle struct {
	mu     sync.Mutex
	limits Limits
	now    func() time.Time
	keys   map[string]*keyState

	windowStart time.Time
	windowCount int // failed or running checks in the current global window
}

type keyState struct {
	attempts int       // counted attempts: failed or running
	last     time.Time // when the last one was admitted
	next     time.Time // no attempt is admitted before this
}

// throttleKey is one key of an attempt and its number of free failures.
type throttleKey struct {
	name string
	free int
	// account keys are cleared by a success; an address key only takes
	// the success's own attempt back, so that a guesser with one valid
	// account cannot wipe the count of their other guesses.
	account bool
}

func newThrottle(l Limits, now func() time.Time) *throttle {
	return &throttle{limits: l, now: now, keys: map[string]*keyState{}}
}

// attemptKeys are the keys of a password check of email from clientIP.
func (t *throttle) attemptKeys(email, clientIP string) []throttleKey {
	return []throttleKey{
		{name: "addr\x00" + clientIP, free: t.limits.AddressFreeFailures},
		{name: "acct\x00" + email + "\x00" + clientIP, free: t.limits.FreeFailures, account: true},
	}
}

// delay is the wait after the n-th counted attempt of a key with free
// failures: none up to free-1, then BaseDelay doubling up to MaxDelay.
func (t *throttle) delay(n, free int) time.Duration {
	if n < free {
		return 0
	}
	d := t.limits.BaseDelay
	for i := free; i < n && d < t.limits.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.limits.MaxDelay)
}

// ticket is an admitted attempt; exactly one of succeed, release or fail
// must be called when the check's outcome is known.
type ticket struct {
	t      *throttle
	keys   []throttleKey
	window time.Time
}

// admit counts an attempt for keys, or refuses it with *ThrottledError
// saying how long to wait.
func (t *throttle) admit(keys []throttleKey) (*ticket, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if now.Sub(t.windowStart) >= t.limits.GlobalWindow {
		t.windowStart, t.windowCount = now, 0
	}
	var wait time.Duration
	if t.windowCount >= t.limits.GlobalFailures {
		wait = t.windowStart.Add(t.limits.GlobalWindow).Sub(now)
	}
	for _, k := range keys {
		st := t.keys[k.name]
		if st != nil && now.Sub(st.last) >= t.limits.Forget {
			delete(t.keys, k.name)
			continue
		}
		if st != nil && now.Before(st.next) {
			wait = max(wait, st.next.Sub(now))
		}
	}
	if wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	for _, k := range keys {
		st := t.keys[k.name]
		if st == nil {
			st = &keyState{}
			t.keys[k.name] = st
		}
		st.attempts++
		st.last = now
		st.next = now.Add(t.delay(st.attempts, k.free))
	}
	t.windowCount++
	t.prune(now)
	return &ticket{t: t, keys: keys, window: t.windowStart}, nil
}

// prune bounds memory under a spray of distinct keys.
func (t *throttle) prune(now time.Time) {
	if len(t.keys) <= 10000 {
		return
	}
	for name, st := range t.keys {
		if now.Sub(st.last) >= t.limits.Forget {
			delete(t.keys, name)
		}
	}
}

// succeed records that the password was right.
func (tk *ticket) succeed() { tk.undo(true) }

// release records that no password was checked after all (the pool was
// busy, the request was cancelled, the store failed): the attempt is
// taken back.
func (tk *ticket) release() { tk.undo(false) }

// fail records a wrong password: it was counted when admitted.
func (tk *ticket) fail() {}

func (tk *ticket) undo(success bool) {
	t := tk.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range tk.keys {
		st := t.keys[k.name]
		if st == nil {
			continue
		}
		if success && k.account {
			delete(t.keys, k.name)
			continue
		}
		st.attempts--
		if st.attempts <= 0 {
			delete(t.keys, k.name)
			continue
		}
		st.next = st.last.Add(t.delay(st.attempts, k.free))
	}
	if tk.window.Equal(t.windowStart) && t.windowCount > 0 {
		t.windowCount--
	}
}
