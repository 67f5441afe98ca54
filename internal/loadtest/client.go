// Package loadtest drives simulated annotators over HTTP against a running
// capeval server: the client of one annotator (next task, rating, skip),
// the run of many of them with latency figures, and the check of the
// queue's invariants against the database afterwards. `capeval loadtest`
// and the concurrency, durability and replica tests share it.
package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ErrUnavailable marks an answer that says nothing about the request's
// fate: the connection failed or the server answered 5xx. A rating sent
// again with the same client id is safe (the server deduplicates it).
var ErrUnavailable = errors.New("loadtest: server unavailable")

// Annotator is one simulated annotator's HTTP client: a base URL, a login
// token and the campaign it rates.
type Annotator struct {
	Ctx      context.Context
	Base     string
	Client   *http.Client
	Token    string
	Campaign int64
}

// Task is what a simulated annotator needs of a leased task.
type Task struct {
	ID     int64  `json:"task_id"`
	Kind   string `json:"kind"`
	Rubric struct {
		Criteria []struct {
			Key   string `json:"key"`
			Scale struct {
				Min int `json:"min"`
				Max int `json:"max"`
			} `json:"scale"`
		} `json:"criteria"`
	} `json:"rubric"`
}

// Do sends one request and reads the whole answer. A failed connection
// or a 5xx is an error wrapping ErrUnavailable, with the status (0 when
// no answer came) and the body.
func (a *Annotator) Do(method, path, body string) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(a.Ctx, method, a.Base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.Client.Do(req)
	if err != nil {
		if a.Ctx.Err() != nil {
			return 0, nil, a.Ctx.Err()
		}
		return 0, nil, fmt.Errorf("%w: %s %s: %w", ErrUnavailable, method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s %s: %w", ErrUnavailable, method, path, err)
	}
	if res.StatusCode >= 500 {
		return res.StatusCode, b, fmt.Errorf("%w: %s %s: %d %s", ErrUnavailable, method, path, res.StatusCode, b)
	}
	return res.StatusCode, b, nil
}

// Post sends a JSON body and returns the status and the answer as text.
func (a *Annotator) Post(path, body string) (int, string, error) {
	code, b, err := a.Do("POST", path, body)
	return code, string(b), err
}

// Next asks for a task (one other than after, for a prefetch): 200 with
// the task, or 204 and nil when there is nothing for this annotator.
func (a *Annotator) Next(after int64) (int, *Task, error) {
	path := fmt.Sprintf("/api/v1/queue/next?campaign=%d", a.Campaign)
	if after > 0 {
		path += fmt.Sprintf("&after=%d", after)
	}
	code, b, err := a.Do("GET", path, "")
	if err != nil || code != http.StatusOK {
		if err == nil && code != http.StatusNoContent {
			err = fmt.Errorf("loadtest: next: %d %s", code, b)
		}
		return code, nil, err
	}
	var task Task
	if err := json.Unmarshal(b, &task); err != nil {
		return code, nil, fmt.Errorf("loadtest: next: %w: %s", err, b)
	}
	return code, &task, nil
}

// Rate posts a rating of the task and returns the status and the rating's
// id (201: new, 200: a retry of the same client id). A 409 is an answer,
// not an error: its message is returned.
func (a *Annotator) Rate(task int64, body string) (code int, ratingID int64, refusal string, err error) {
	code, b, err := a.Do("POST", fmt.Sprintf("/api/v1/tasks/%d/ratings", task), body)
	if err != nil {
		return code, 0, "", err
	}
	if code == http.StatusConflict {
		return code, 0, string(b), nil
	}
	if code != http.StatusCreated && code != http.StatusOK {
		return code, 0, "", fmt.Errorf("loadtest: rating of task %d: %d %s", task, code, b)
	}
	var r struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return code, 0, "", fmt.Errorf("loadtest: rating of task %d: %w: %s", task, err, b)
	}
	return code, r.ID, "", nil
}

// LikertBody is a rating of every criterion of the rubric with value v
// (clamped to each scale), or of the default rubric's four criteria when
// the task carries none.
func LikertBody(clientID string, t *Task, v int) string {
	answers := map[string]int{}
	if t != nil {
		for _, c := range t.Rubric.Criteria {
			answers[c.Key] = min(max(v, c.Scale.Min), c.Scale.Max)
		}
	}
	if len(answers) == 0 {
		for _, k := range []string{"precision", "recall", "fluency", "overall"} {
			answers[k] = v
		}
	}
	b, _ := json.Marshal(map[string]any{"client_id": clientID, "answers": answers, "duration_ms": 1500})
	return string(b)
}

// PairBody is a pairwise rating with the given choice.
func PairBody(clientID, choice string) string {
	b, _ := json.Marshal(map[string]any{"client_id": clientID, "choice": choice, "duration_ms": 1500})
	return string(b)
}
