package models

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"gorm.io/gorm"
)

// maxCachedStmts bounds the statement cache: the queue's statements are a
// few dozen texts (an IN list of n IDs is one text per n).
const maxCachedStmts = 256

// stmtCache keeps prepared statements of the root SQLite handle, shared by
// the Store and every Store of its transactions. The rating queue runs the
// same few statements on every request, and preparing them again each
// time was a third of the CPU of "next". gorm's own PrepareStmt does not
// help there: a statement first prepared inside a transaction is cached
// bound to that transaction, and every later one prepares it again.
// PostgreSQL needs none of this: pgx caches prepared statements per
// connection itself.
//
// A statement missing from the cache is prepared in the background, never
// by the request that misses it: preparing on the root handle takes a
// pooled connection, and a transaction holding SQLite's write lock that
// waited for one, while the other connections wait for its lock, would
// deadlock. The request runs its statement unprepared meanwhile.
type stmtCache struct {
	db      *sql.DB
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get returns the prepared statement of query, or nil when it is not
// prepared yet (it then will be soon).
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st
	}
	if !c.pending[query] && len(c.stmts)+len(c.pending) < maxCachedStmts {
		c.pending[query] = true
		go c.prepare(query)
	}
	return nil
}

func (c *stmtCache) prepare(query string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := c.db.PrepareContext(ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	if err == nil {
		// A failure (a closed database) leaves the query unprepared; the
		// next miss tries again.
		c.stmts[query] = st
	}
}

// stmtPool is the gorm connection pool of a Store's prepared session: a
// cached statement, bound to the transaction when there is one (database/
// sql reuses the statement already prepared on its connection), or the
// plain call while the statement is being prepared.
type stmtPool struct {
	c    *stmtCache
	tx   *sql.Tx
	pool gorm.ConnPool // the transaction or the root handle
}

func (p stmtPool) stmt(ctx context.Context, query string) *sql.Stmt {
	st := p.c.get(query)
	if st == nil || p.tx == nil {
		return st
	}
	return p.tx.StmtContext(ctx, st)
}

func (p stmtPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.pool.PrepareContext(ctx, query)
}

func (p stmtPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.pool.ExecContext(ctx, query, args...)
}

func (p stmtPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.pool.QueryContext(ctx, query, args...)
}

func (p stmtPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.pool.QueryRowContext(ctx, query, args...)
}

// prepared is conn with statements from the cache (on SQLite; conn itself
// on PostgreSQL). It runs statements only: begin transactions with InTx.
func (s *Store) prepared(ctx context.Context) *gorm.DB {
	db := s.db.WithContext(ctx)
	if s.stmts == nil {
		return db
	}
	pool := stmtPool{c: s.stmts, pool: db.Statement.ConnPool}
	switch cp := db.Statement.ConnPool.(type) {
	case *sql.Tx:
		pool.tx = cp
	case *sql.DB:
	default: // a connection pool of another kind: leave it alone
		return db
	}
	db.Statement.ConnPool = pool
	return db
}
