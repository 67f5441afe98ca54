package models

import (
	"context"
	"fmt"
	"sync"

	"gorm.io/gorm"
)

// maxGroup bounds how many transactions share one commit.
const maxGroup = 64

// groupCommit lets concurrent short transactions on SQLite share one
// commit, and so one fsync. SQLite runs one write transaction at a time
// and, with synchronous=FULL, syncs the WAL at each commit: the rating
// queue's two small transactions per rating spent half their time in
// that sync. Here the first caller becomes the leader: it opens one
// transaction, runs its own function and those of the callers that
// queued meanwhile, each in a savepoint of its own, commits once, and
// only then answers them all. Correctness still comes from the database
// transaction (BEGIN IMMEDIATE, so a second process waits as before); the
// queue in memory only decides who runs when. Waiting writers no longer
// poll SQLite's busy handler either, whose sleeps left the database idle.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*groupReq
	leading bool
}

type groupReq struct {
	ctx  context.Context
	fn   func(tx *Store) error
	done chan groupResult
}

// groupResult is a caller's outcome; lead hands it the leadership instead.
type groupResult struct {
	err      error
	panicked any
	lead     bool // not a result: the caller is to lead the next batch
}

// InGroupTx runs fn in a transaction, as InTx does: fn's error (or panic)
// undoes everything fn did, nil keeps it, and InGroupTx returns once it is
// committed (on SQLite, synced to disk). On SQLite fn may share the
// transaction and its commit with other InGroupTx calls, each in its own
// savepoint: fn must be short, and must use tx for every query (calling a
// root Store's InTx or InGroupTx from fn would wait for itself). A failed
// commit fails every call that shared it. On PostgreSQL, and called on a
// Store of a transaction, it is InTx.
func (s *Store) InGroupTx(ctx context.Context, fn func(tx *Store) error) error {
	g := s.group
	if g == nil || s.sqlDB == nil {
		return s.InTx(ctx, fn)
	}
	req := &groupReq{ctx: ctx, fn: fn, done: make(chan groupResult, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, req)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if lead {
		s.lead()
	}
	res := <-req.done
	if res.lead { // the previous leader handed over: req heads the queue
		s.lead()
		res = <-req.done
	}
	if res.panicked != nil {
		panic(res.panicked)
	}
	return res.err
}

// lead runs one batch from the head of the queue, which holds the
// leader's own call, then hands the leadership to the first caller still
// waiting, if any: each leader commits once and returns, so that no
// caller waits for more than the batches queued before its own.
func (s *Store) lead() {
	g := s.group
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	batch := append([]*groupReq(nil), g.queue[:n]...)
	g.queue = g.queue[n:]
	g.mu.Unlock()
	s.runGroup(batch)
	g.mu.Lock()
	if len(g.queue) == 0 {
		g.leading = false
	} else {
		g.queue[0].done <- groupResult{lead: true}
	}
	g.mu.Unlock()
}

// runGroup runs the batch in one transaction, each function in a
// savepoint, and answers each caller after the commit.
func (s *Store) runGroup(batch []*groupReq) {
	results := make([]groupResult, len(batch))
	// The transaction belongs to no one request: a caller that gives up
	// must not roll back the others' work.
	ctx := context.WithoutCancel(batch[0].ctx)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for i, r := range batch {
			results[i] = runSavepoint(tx, s, r)
		}
		return nil
	})
	for i, r := range batch {
		if err != nil && results[i].panicked == nil {
			results[i] = groupResult{err: fmt.Errorf("models: commit: %w", err)}
		}
		r.done <- results[i]
	}
}

// runSavepoint runs one caller's function in a savepoint of tx, rolling
// it back on an error or a panic (which is handed to the caller). The
// savepoint itself runs under tx's context, which no caller can cancel: a
// rollback cut short would leave a failed function's writes in the
// commit; fn's queries run under the caller's own context.
func runSavepoint(tx *gorm.DB, s *Store, r *groupReq) (res groupResult) {
	defer func() {
		if p := recover(); p != nil {
			res = groupResult{panicked: p}
		}
	}()
	err := tx.Transaction(func(sp *gorm.DB) error {
		return r.fn(&Store{db: sp, dialect: s.dialect, log: s.log, stmts: s.stmts})
	})
	return groupResult{err: err}
}
