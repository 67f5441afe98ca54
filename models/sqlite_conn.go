package models

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/mattn/go-sqlite3"
)

// utcConnector opens mattn SQLite connections wrapped in utcConn.
type utcConnector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

func (c utcConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*sqlite3.SQLiteConn)
	if !ok {
		_ = conn.Close()
		return nil, fmt.Errorf("models: unexpected SQLite connection type %T", conn)
	}
	return utcConn{sc}, nil
}

func (c utcConnector) Driver() driver.Driver { return c.drv }

// utcConn is a mattn connection that writes every time.Time parameter in UTC.
// SQLite stores times as text in the layout mattn writes, offset included; a
// time in another zone would still parse back to the right instant, but text
// comparisons in SQL (expires_at < ?) and ORDER BY would compare wall clocks
// of different zones. Normalizing here covers struct fields, Updates maps
// and raw query arguments alike, whatever zone the caller used.
type utcConn struct{ *sqlite3.SQLiteConn }

// CheckNamedValue converts a parameter as database/sql would by default
// (valuers, pointers, named types) and then moves a time to UTC.
func (utcConn) CheckNamedValue(nv *driver.NamedValue) error {
	v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
	if err != nil {
		return err
	}
	if t, ok := v.(time.Time); ok {
		v = t.UTC()
	}
	nv.Value = v
	return nil
}
