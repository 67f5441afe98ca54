package server

import (
	"sync"
	"time"
)

// loginLimiter counts failed logins per key (client IP and email) in a fixed
// window. It is per process: with several replicas each keeps its own count,
// which still bounds guessing to replicas × limit per window.
type loginLimiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	now    func() time.Time
	fails  map[string]*failWindow
}

type failWindow struct {
	start time.Time
	count int
}

func newLoginLimiter(limit int, window time.Duration, now func() time.Time) *loginLimiter {
	return &loginLimiter{limit: limit, window: window, now: now, fails: map[string]*failWindow{}}
}

// retryAfter reports how long key must wait; zero means it may try now.
func (l *loginLimiter) retryAfter(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.fails[key]
	if !ok {
		return 0
	}
	if elapsed := l.now().Sub(w.start); elapsed >= l.window {
		delete(l.fails, key)
		return 0
	} else if w.count >= l.limit {
		return l.window - elapsed
	}
	return 0
}

// fail records a failed attempt for key.
func (l *loginLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w, ok := l.fails[key]
	if !ok || now.Sub(w.start) >= l.window {
		w = &failWindow{start: now}
		l.fails[key] = w
	}
	w.count++
	// Bound memory under a spray of distinct keys: drop expired windows.
	if len(l.fails) > 10000 {
		for k, v := range l.fails {
			if now.Sub(v.start) >= l.window {
				delete(l.fails, k)
			}
		}
	}
}

// succeed forgets the failures of key after a successful login.
func (l *loginLimiter) succeed(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}
