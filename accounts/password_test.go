package accounts

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestHashPool: a check waits for a worker while the queue has room, and
// is refused with ErrBusy at once when it has none.
func TestHashPool(t *testing.T) {
	p := newHashPool(1, 1)
	hold := make(chan struct{})
	running := make(chan struct{})
	go p.do(context.Background(), func() { close(running); <-hold })
	<-running
	queued := make(chan error, 1)
	go func() { queued <- p.do(context.Background(), func() {}) }()
	for p.waiting.Load() != 1 {
		time.Sleep(time.Millisecond) // until the second is in the queue
	}
	if err := p.do(context.Background(), func() { t.Error("ran with the pool full") }); !errors.Is(err, ErrBusy) {
		t.Fatalf("third with the worker busy and the queue full: %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	close(hold)
	if err := <-queued; err != nil {
		t.Fatalf("the queued one: %v", err)
	}
	// A cancelled caller waiting in the queue gives up.
	p2 := newHashPool(1, 1)
	hold2 := make(chan struct{})
	running2 := make(chan struct{})
	go p2.do(context.Background(), func() { close(running2); <-hold2 })
	<-running2
	if err := p2.do(ctx, func() {}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	close(hold2)
	if p2.waiting.Load() != 0 {
		t.Fatalf("waiting = %d after the cancelled wait", p2.waiting.Load())
	}
}

func TestCheckPassword(t *testing.T) {
	h, err := hashPassword("a good password")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(h, "$")
	tests := []struct {
		name, hash, password string
		want                 bool
	}{
		{"right", h, "a good password", true},
		{"wrong", h, "a bad password", false},
		{"empty hash", "", "a good password", false},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuu", "a good password", false},
		{"other version", strings.Replace(h, "v=19", "v=16", 1), "a good password", false},
		{"huge memory", strings.Join([]string{"", parts[1], parts[2], "m=4000000,t=2,p=1", parts[4], parts[5]}, "$"), "a good password", false},
		{"bad salt", strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"), "a good password", false},
		{"empty key", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], ""}, "$"), "a good password", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkPassword(tt.hash, tt.password); got != tt.want {
				t.Fatalf("checkPassword = %t, want %t", got, tt.want)
			}
		})
	}
}
