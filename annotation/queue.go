package annotation

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"capeval/models"
)

// Queue settings.
const (
	// DefaultLeaseTTL is how long a task stays an annotator's after "next"
	// or a heartbeat (CAPEVAL_LEASE_TTL).
	DefaultLeaseTTL = 10 * time.Minute
	// MaxLeasesPerCampaign is how many live leases an annotator holds in
	// one campaign: the task on screen and the prefetched next one.
	MaxLeasesPerCampaign = 2
	// LeaseRecordKept is how long an expired lease is kept as the record
	// that its task was handed to the annotator: a rating submitted within
	// it is a late rating (accepted while the task can take it), one after
	// it is refused as for a task never handed out.
	LeaseRecordKept = 24 * time.Hour
	// purgeBatch bounds the expired leases one cleanup deletes, and
	// purgeEvery says how often "next" runs one: the cleanup is lazy, a
	// little now and then, never a sweep.
	purgeBatch = 50
	purgeEvery = 16
)

// AdmitTasks is which tasks an annotator may be given.
type AdmitTasks int

// What an Admitter may grant.
const (
	// AdmitAny: any task the queue would pick.
	AdmitAny AdmitTasks = iota
	// AdmitGold: gold tasks only (qualification).
	AdmitGold
	// AdmitNone: nothing now; QueueAdmission.Reason says why.
	AdmitNone
)

// QueueAdmission is an Admitter's answer for one annotator and campaign.
type QueueAdmission struct {
	Tasks AdmitTasks
	// Reason, for AdmitNone, is shown to the annotator (the 204 of "next"
	// carries it in the Capeval-Queue-Reason header). It must not say that
	// gold tasks exist: "you have reached today's limit of 200 ratings",
	// "your ratings are under review by the lead".
	Reason string
	// DailyCap is the campaign's daily limit of ratings per annotator, 0
	// for none; the annotator's campaign list shows it.
	DailyCap int
}

// AdmissionRequest is what an Admitter decides about.
type AdmissionRequest struct {
	AnnotatorID int64
	Campaign    *models.Campaign
	Now         time.Time
	// After is Next's after: a prefetch, which leases a task besides the
	// one on screen (a daily cap counts that lease); 0 otherwise.
	After int64
}

// Admitter decides, before every pick of the queue, what an annotator may
// get from a campaign. It is the seam of the quality checks (Q2,
// annotation/quality.go):
//
//   - qualification: while the annotator has rated fewer than the
//     campaign's N qualification tasks, answer AdmitGold (the first N tasks
//     a new annotator gets are gold); once they have, and their gold
//     accuracy is below the lead's threshold, answer AdmitNone;
//   - the daily cap: AdmitNone once the annotator's ratings since DayStart
//     reach it, and DailyCap set in every answer;
//   - an annotator the lead did not admit (or excluded, if the lead chose
//     that it stops them): AdmitNone.
//
// Admit runs inside the queue's transaction (tx; on SQLite it holds the
// write lock, so keep it to a few indexed reads; what it writes commits
// or rolls back with the request). It is also called, in a transaction of its own, for each campaign of the
// annotator's campaign list, to read DailyCap. Gold tasks obey the same
// fill rule as the others (ratings_done plus live leases under
// ratings_wanted): for every new annotator to find gold tasks, they must
// want enough ratings. An error fails the request (500).
//
// To plug the quality checks in (Q2): make a type whose Admit calls
// (*Quality).Admit with tx as its AdmissionStore and translates its
// Admission (Admitted false → AdmitNone with Message as Reason; GoldOnly →
// AdmitGold; else AdmitAny; DailyCap from the campaign's quality
// settings), and set it in QueueOptions.Admitter where the composition
// root builds the queue (internal/cli/serve.go).
type Admitter interface {
	Admit(ctx context.Context, tx *models.Store, req AdmissionRequest) (QueueAdmission, error)
}

// AdmitEveryone is the default Admitter: every annotator may get any task
// and there is no daily cap.
type AdmitEveryone struct{}

// Admit returns AdmitAny.
func (AdmitEveryone) Admit(context.Context, *models.Store, AdmissionRequest) (QueueAdmission, error) {
	return QueueAdmission{Tasks: AdmitAny}, nil
}

// DayStart returns the start of now's day, the day of "done today" and of
// the daily cap: midnight UTC, the same for every server replica.
func DayStart(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// QueueStore is what the queue and ratings need from the database. Every
// change runs in InGroupTx (a transaction that on SQLite may share its
// commit with concurrent ones), whose *models.Store the service calls
// directly.
type QueueStore interface {
	InTx(ctx context.Context, fn func(tx *models.Store) error) error
	InGroupTx(ctx context.Context, fn func(tx *models.Store) error) error
	CampaignForAnnotator(ctx context.Context, campaignID, annotatorID int64) (*models.QueueCampaign, error)
	CampaignByID(ctx context.Context, id int64) (*models.Campaign, error)
	TaskContentByID(ctx context.Context, id int64) (*models.TaskContent, error)
	AnnotatorCampaigns(ctx context.Context, annotatorID int64, since time.Time) ([]models.AnnotatorCampaign, error)
	RatingByClientID(ctx context.Context, annotatorID int64, clientID string) (*models.Rating, error)
	ImageBySHA256(ctx context.Context, sha string, annotatorID int64, anyImage bool) (*models.Image, error)
}

// QueueOptions configure a Queue; the zero value is the defaults.
type QueueOptions struct {
	// LeaseTTL is the lease length (DefaultLeaseTTL when 0).
	LeaseTTL time.Duration
	// Now is the clock (time.Now when nil); tests move it.
	Now func() time.Time
	// Admitter is the admission step (AdmitEveryone when nil).
	Admitter Admitter
}

// Queue hands tasks to annotators and takes their ratings and skips. It
// keeps no state of its own and takes no in-process lock: several server
// replicas share one database, and the transactions of models'
// queue_store.go make every decision safe there (see that file).
type Queue struct {
	store  QueueStore
	images *ImageStore
	log    *slog.Logger
	ttl    time.Duration
	now    func() time.Time
	calls  atomic.Uint64 // "next" calls, for the lazy cleanup
	// Admitter is asked before every pick; see Admitter.
	Admitter Admitter
}

// NewQueue returns the queue service over store, serving images from
// images.
func NewQueue(store QueueStore, images *ImageStore, log *slog.Logger, opts QueueOptions) *Queue {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := &Queue{store: store, images: images, log: log, ttl: opts.LeaseTTL, now: opts.Now, Admitter: opts.Admitter}
	if q.ttl <= 0 {
		q.ttl = DefaultLeaseTTL
	}
	if q.now == nil {
		q.now = time.Now
	}
	if q.Admitter == nil {
		q.Admitter = AdmitEveryone{}
	}
	return q
}

// clock returns now in UTC at PostgreSQL's precision, so that a time reads
// back the same from both databases.
func (q *Queue) clock() time.Time { return q.now().UTC().Truncate(time.Microsecond) }

// TaskView is a leased task as its annotator sees it: nothing that names a
// captioner or caption, no score, no gold flag. A gold task looks exactly
// like a regular one: its texts come from its gold answer.
type TaskView struct {
	TaskID     int64
	CampaignID int64
	Kind       models.TaskKind
	// ImageSHA256 is the content hash of the image (the HTTP layer makes
	// the URL of it).
	ImageSHA256 string
	ImageWidth  int
	ImageHeight int
	// Caption is the text of a single task; CaptionA and CaptionB those of
	// a pair, in the order shown to this annotator.
	Caption            string
	CaptionA, CaptionB string
	Rubric             Rubric
	Instructions       string
	LeaseExpiresAt     time.Time
}

// Next leases a task of the campaign to the annotator and returns it, or
// nil and a reason ("" when the annotator has simply done everything they
// can) when there is none for them. A live lease of theirs in the campaign
// is returned again, renewed; with after set (the task the client shows),
// a task other than that one is returned: the prefetch of the next screen,
// which makes at most MaxLeasesPerCampaign live leases. A campaign that
// does not exist, is a draft or is not open to this annotator is
// ErrNotFound; a closed one has nothing left.
func (q *Queue) Next(ctx context.Context, annotatorID, campaignID, after int64) (*TaskView, string, error) {
	now := q.clock()
	// What does not change under the transaction is read before it, so
	// that the transaction (on SQLite the database's write lock) is short.
	camp, err := annotatorCampaign(ctx, q.store, campaignID, annotatorID)
	if err != nil {
		return nil, "", wrapErr(err, "next task of campaign %d", campaignID)
	}
	if camp.Status == models.StatusClosed {
		return nil, fmt.Sprintf("campaign %q is closed", camp.Name), nil
	}
	var leased *models.Lease
	var reason string
	err = q.store.InGroupTx(ctx, func(tx *models.Store) error {
		if err := tx.LockAnnotator(ctx, annotatorID); err != nil {
			return err
		}
		if q.calls.Add(1)%purgeEvery == 0 {
			if _, err := tx.PurgeExpiredLeases(ctx, now.Add(-LeaseRecordKept), purgeBatch); err != nil {
				return err
			}
		}
		adm, err := q.Admitter.Admit(ctx, tx, AdmissionRequest{AnnotatorID: annotatorID, Campaign: camp, Now: now, After: after})
		if err != nil {
			return fmt.Errorf("annotation: admission of annotator %d to campaign %d: %w", annotatorID, campaignID, err)
		}
		if adm.Tasks == AdmitNone {
			reason = adm.Reason
			if reason == "" {
				reason = "there is nothing for you to rate in this campaign now"
			}
			return nil
		}
		held, err := tx.AnnotatorLiveLeases(ctx, annotatorID, campaignID, now)
		if err != nil {
			return err
		}
		var exclude []int64
		if after > 0 {
			exclude = append(exclude, after)
		}
		for _, h := range held {
			if h.Task.ID == after {
				continue
			}
			exclude = append(exclude, h.Task.ID)
			task, err := tx.LockTask(ctx, h.Task.ID)
			if err != nil {
				return err
			}
			ok, err := holdable(ctx, tx, task, &h.Lease, now)
			if err != nil {
				return err
			}
			if ok && (adm.Tasks != AdmitGold || task.IsGold) {
				if err := tx.SetLeaseExpiry(ctx, h.Lease.ID, now.Add(q.ttl)); err != nil {
					return err
				}
				h.Lease.ExpiresAt = now.Add(q.ttl)
				leased = &h.Lease
				return nil
			}
			// The task cannot be held any more (a late rating filled it):
			// give it back, keeping the record that it was handed out.
			if err := tx.SetLeaseExpiry(ctx, h.Lease.ID, now); err != nil {
				return err
			}
		}
		task, err := tx.PickOpenTask(ctx, models.PickQuery{CampaignID: campaignID, AnnotatorID: annotatorID, Now: now,
			GoldOnly: adm.Tasks == AdmitGold, Exclude: exclude})
		if errors.Is(err, models.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		leased, err = tx.TakeLease(ctx, task.ID, annotatorID, now, now.Add(q.ttl))
		return err
	})
	if err != nil {
		return nil, "", wrapErr(err, "next task of campaign %d for annotator %d", campaignID, annotatorID)
	}
	if leased == nil {
		return nil, reason, nil
	}
	// A task's content never changes: it is read after the commit.
	view, err := q.view(ctx, camp, leased.TaskID, annotatorID, leased.ExpiresAt)
	if err != nil {
		return nil, "", wrapErr(err, "next task of campaign %d for annotator %d", campaignID, annotatorID)
	}
	q.log.DebugContext(ctx, "task leased", "task_id", view.TaskID, "annotator_id", annotatorID, "expires_at", view.LeaseExpiresAt)
	return view, "", nil
}

// Heartbeat renews the annotator's lease on the task while its page is
// open and returns the new expiry. A lease that expired is taken again
// when the task can still take the annotator's rating. When the task can
// no longer be held (a late rating filled it, it was set aside, the
// campaign closed, the annotator rated or skipped it) the answer is
// ErrConflict; a task never handed to the annotator is ErrNotFound.
func (q *Queue) Heartbeat(ctx context.Context, annotatorID, taskID int64) (time.Time, error) {
	now := q.clock()
	var expires time.Time
	err := q.store.InGroupTx(ctx, func(tx *models.Store) error {
		task, lease, err := handedTask(ctx, tx, taskID, annotatorID)
		if err != nil {
			return err
		}
		camp, err := tx.CampaignByID(ctx, task.CampaignID)
		if err != nil {
			return err
		}
		if camp.Status != models.StatusCollecting {
			return fmt.Errorf("%w: campaign %q is %s: task %d can no longer be rated", ErrConflict, camp.Name, camp.Status, taskID)
		}
		live := lease.ExpiresAt.After(now)
		var before *models.Lease
		if live {
			before = lease
		}
		ok, err := holdable(ctx, tx, task, before, now)
		if err != nil {
			return err
		}
		if !ok {
			if live {
				if err := tx.SetLeaseExpiry(ctx, lease.ID, now); err != nil {
					return err
				}
			}
			return fmt.Errorf("%w: task %d can no longer be held: others have given it the ratings it wants", ErrConflict, taskID)
		}
		l, err := tx.TakeLease(ctx, taskID, annotatorID, now, now.Add(q.ttl))
		if err != nil {
			return err
		}
		expires = l.ExpiresAt
		return nil
	})
	if err != nil {
		return time.Time{}, wrapErr(err, "heartbeat of task %d", taskID)
	}
	return expires, nil
}

// AnnotatorCampaign is a campaign in an annotator's list: what they need to
// start rating, and their progress. No captioner, score or gold count.
type AnnotatorCampaign struct {
	ID             int64               `json:"id"`
	Name           string              `json:"name"`
	Mode           models.CampaignMode `json:"mode"`
	Instructions   string              `json:"instructions"`
	Rubric         Rubric              `json:"rubric"`
	DoneByMe       int64               `json:"done_by_me"`
	DoneToday      int64               `json:"done_today"`
	DailyCap       int                 `json:"daily_cap"`
	TasksTotal     int64               `json:"tasks_total"`
	TasksDone      int64               `json:"tasks_done"`
	RemainingForMe int64               `json:"remaining_for_me"`
}

// Campaigns lists the collecting campaigns the annotator may rate, newest
// first, with their progress.
func (q *Queue) Campaigns(ctx context.Context, annotatorID int64) ([]AnnotatorCampaign, error) {
	now := q.clock()
	rows, err := q.store.AnnotatorCampaigns(ctx, annotatorID, DayStart(now))
	if err != nil {
		return nil, wrapErr(err, "campaigns of annotator %d", annotatorID)
	}
	out := make([]AnnotatorCampaign, len(rows))
	for i, r := range rows {
		out[i] = AnnotatorCampaign{ID: r.ID, Name: r.Name, Mode: r.Mode, Instructions: r.Instructions,
			Rubric: storedRubric(r.Rubric), DoneByMe: r.DoneByMe, DoneToday: r.DoneToday, TasksTotal: r.TasksTotal,
			TasksDone: r.TasksDone, RemainingForMe: r.RemainingForMe}
	}
	if _, ok := q.Admitter.(AdmitEveryone); ok || len(out) == 0 {
		return out, nil
	}
	err = q.store.InTx(ctx, func(tx *models.Store) error {
		for i := range out {
			camp := &models.Campaign{ID: rows[i].ID, Name: rows[i].Name, Mode: rows[i].Mode, Rubric: rows[i].Rubric,
				Instructions: rows[i].Instructions, Status: models.StatusCollecting}
			adm, err := q.Admitter.Admit(ctx, tx, AdmissionRequest{AnnotatorID: annotatorID, Campaign: camp, Now: now})
			if err != nil {
				return fmt.Errorf("annotation: admission of annotator %d to campaign %d: %w", annotatorID, camp.ID, err)
			}
			out[i].DailyCap = adm.DailyCap
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr(err, "campaigns of annotator %d", annotatorID)
	}
	return out, nil
}

// Image returns the file path and format of an image with the content
// hash, for a viewer who may see it: with anyImage (leads, admins) any
// image; otherwise one shown by a task of a collecting campaign the
// annotator may rate. Anything else, a malformed hash included, is
// ErrNotFound: the answer never tells whether such an image exists.
func (q *Queue) Image(ctx context.Context, viewerID int64, anyImage bool, sha string) (file, ext string, err error) {
	notFound := fmt.Errorf("%w: no image %.12s for you", ErrNotFound, sha)
	if len(sha) != 64 || !isHex(sha) {
		return "", "", notFound
	}
	img, err := q.store.ImageBySHA256(ctx, sha, viewerID, anyImage)
	if errors.Is(err, models.ErrNotFound) {
		return "", "", notFound
	}
	if err != nil {
		return "", "", wrapErr(err, "image %.12s", sha)
	}
	p, err := q.images.Path(img.StorageKey)
	if err != nil {
		return "", "", wrapErr(err, "image %.12s", sha)
	}
	return p, strings.TrimPrefix(path.Ext(img.StorageKey), "."), nil
}

// annotatorCampaign returns the campaign when the annotator may rate it and it
// is collecting or closed; a draft, a campaign not open to them or a
// missing one is ErrNotFound (the same answer, so that an annotator cannot
// learn which campaigns exist).
func annotatorCampaign(ctx context.Context, st QueueStore, campaignID, annotatorID int64) (*models.Campaign, error) {
	c, err := st.CampaignForAnnotator(ctx, campaignID, annotatorID)
	if errors.Is(err, models.ErrNotFound) || err == nil && (!c.Allowed || c.Status == models.StatusDraft) {
		return nil, fmt.Errorf("%w: no campaign %d open to you", ErrNotFound, campaignID)
	}
	if err != nil {
		return nil, err
	}
	return &c.Campaign, nil
}

// handedTask locks the task and returns it with the annotator's lease on
// it (live or expired). A task never handed to them, or whose lease record
// is gone, is ErrNotFound, as is a missing one.
func handedTask(ctx context.Context, tx *models.Store, taskID, annotatorID int64) (*models.Task, *models.Lease, error) {
	notHanded := fmt.Errorf("%w: no task %d handed to you", ErrNotFound, taskID)
	task, err := tx.LockTask(ctx, taskID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, notHanded
	}
	if err != nil {
		return nil, nil, err
	}
	if r, err := tx.RatingOf(ctx, taskID, annotatorID); err == nil {
		return nil, nil, fmt.Errorf("%w: you rated task %d already (rating %d)", ErrConflict, taskID, r.ID)
	} else if !errors.Is(err, models.ErrNotFound) {
		return nil, nil, err
	}
	lease, err := tx.LeaseOf(ctx, taskID, annotatorID)
	if errors.Is(err, models.ErrNotFound) {
		if _, err := tx.SkipOf(ctx, taskID, annotatorID); err == nil {
			return nil, nil, fmt.Errorf("%w: you skipped task %d", ErrConflict, taskID)
		}
		return nil, nil, notHanded
	}
	if err != nil {
		return nil, nil, err
	}
	return task, lease, nil
}

// holdable reports whether the task (locked) can be held by a lease: it is
// not set aside, and its ratings and the live leases of others that rank
// ahead leave a slot. mine is the lease in question when it is live (the
// others taken before it rank ahead), nil for a new hold (every live lease
// of another does).
func holdable(ctx context.Context, tx *models.Store, task *models.Task, mine *models.Lease, now time.Time) (bool, error) {
	if task.SetAsideAt != nil || task.RatingsDone >= task.RatingsWanted {
		return false, nil
	}
	annotator := int64(0)
	if mine != nil {
		annotator = mine.AnnotatorID
	}
	n, err := tx.OtherLiveLeases(ctx, task.ID, annotator, now, mine)
	if err != nil {
		return false, err
	}
	return int64(task.RatingsDone)+n < int64(task.RatingsWanted), nil
}

// view builds what the annotator sees of the task.
func (q *Queue) view(ctx context.Context, camp *models.Campaign, taskID, annotatorID int64, expires time.Time) (*TaskView, error) {
	tc, err := q.store.TaskContentByID(ctx, taskID)
	if err != nil {
		return nil, err
	}
	v := &TaskView{TaskID: tc.ID, CampaignID: tc.CampaignID, Kind: tc.Kind, ImageSHA256: tc.ImageSHA256,
		ImageWidth: tc.ImageWidth, ImageHeight: tc.ImageHeight, Rubric: storedRubric(camp.Rubric),
		Instructions: camp.Instructions, LeaseExpiresAt: expires}
	a, b := tc.TextA, tc.TextB
	if tc.IsGold {
		a, b, err = goldTexts(tc.GoldAnswer)
		if err != nil {
			return nil, fmt.Errorf("annotation: gold task %d: %w", tc.ID, err)
		}
	}
	if tc.Kind == models.TaskSingle {
		v.Caption = a
		return v, nil
	}
	if shownSwapped(tc.Seed, tc.ID, annotatorID) {
		a, b = b, a
	}
	v.CaptionA, v.CaptionB = a, b
	return v, nil
}

// goldTexts reads the texts a gold task shows from its gold answer: "text"
// (single) or "text_a" and "text_b" (pair), as the selection writes them.
func goldTexts(doc models.JSON) (a, b string, err error) {
	var g struct {
		Text  string `json:"text"`
		TextA string `json:"text_a"`
		TextB string `json:"text_b"`
	}
	if err := json.Unmarshal(doc, &g); err != nil {
		return "", "", fmt.Errorf("gold answer: %w", err)
	}
	if g.Text != "" {
		return g.Text, "", nil
	}
	return g.TextA, g.TextB, nil
}

// shownSwapped reports whether the pair task is shown to the annotator
// with B first: a hash of the task's recorded seed, the task and the
// annotator, so that every annotator sees a pair in an order of its own,
// and the same one each time they see it (FNV-1a is fixed by its
// definition: the order never changes with a Go release).
func shownSwapped(seed, taskID, annotatorID int64) bool {
	h := fnv.New64a()
	var buf [24]byte
	binary.LittleEndian.PutUint64(buf[0:], uint64(seed))
	binary.LittleEndian.PutUint64(buf[8:], uint64(taskID))
	binary.LittleEndian.PutUint64(buf[16:], uint64(annotatorID))
	h.Write(buf[:])
	return h.Sum64()>>63 == 1
}
