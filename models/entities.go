package models

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"
)

// The entity types below mirror the tables of migrations/*/*.sql column
// for column; the migrations are the schema, these structs only map it
// (a test checks that every field has its column on both databases).

// Role is what a user may do.
type Role string

// The roles, from most to least powerful.
const (
	RoleAdmin     Role = "admin"
	RoleLead      Role = "lead"
	RoleAnnotator Role = "annotator"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleLead, RoleAnnotator:
		return true
	}
	return false
}

// User is an account: an admin, a lead or an annotator.
type User struct {
	ID           int64  `gorm:"primaryKey" json:"id"`
	Email        string `json:"email"`
	Name         string `json:"name"`
	Role         Role   `json:"role"`
	PasswordHash string `json:"-"`
	Disabled     bool   `json:"disabled"`
	// TokenVersion is bumped by logout and password change; a token issued
	// at an older version is refused.
	TokenVersion int64     `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// CampaignMode is how humans rate a campaign.
type CampaignMode string

// The rating modes.
const (
	ModeLikert   CampaignMode = "likert"
	ModePairwise CampaignMode = "pairwise"
)

// CampaignStatus is where a campaign is in its life.
type CampaignStatus string

// The campaign statuses, in order.
const (
	StatusDraft      CampaignStatus = "draft"
	StatusCollecting CampaignStatus = "collecting"
	StatusClosed     CampaignStatus = "closed"
)

// Campaign groups the images, references, captioners and human tasks of one
// evaluation, with the lead's configuration as JSON documents.
type Campaign struct {
	ID           int64          `gorm:"primaryKey" json:"id"`
	Name         string         `json:"name"`
	Description  string         `json:"description"`
	Mode         CampaignMode   `json:"mode"`
	Rubric       JSON           `json:"rubric"`
	Thresholds   JSON           `json:"thresholds"`
	BlendWeights JSON           `json:"blend_weights"`
	Status       CampaignStatus `json:"status"`
	// Instructions are the lead's words to annotators, shown before the
	// first task (migration 0005); unlike Description they reach them.
	Instructions string    `json:"instructions"`
	CreatedBy    *int64    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// CampaignAnnotator records that a user may annotate a campaign.
type CampaignAnnotator struct {
	CampaignID int64     `gorm:"primaryKey;autoIncrement:false" json:"campaign_id"`
	UserID     int64     `gorm:"primaryKey;autoIncrement:false" json:"user_id"`
	CreatedAt  time.Time `json:"created_at"`
}

// Image is one image of a campaign, stored content-addressed in the data
// directory under StorageKey.
type Image struct {
	ID         int64     `gorm:"primaryKey" json:"id"`
	CampaignID int64     `json:"campaign_id"`
	ExternalID string    `json:"external_id"`
	SHA256     string    `gorm:"column:sha256" json:"sha256"`
	StorageKey string    `json:"storage_key"`
	Width      int       `json:"width"`
	Height     int       `json:"height"`
	Tags       JSON      `json:"tags"`
	CreatedAt  time.Time `json:"created_at"`
}

// Reference is a human reference caption of an image. Its table is
// image_references because "references" is an SQL keyword.
type Reference struct {
	ID       int64  `gorm:"primaryKey" json:"id"`
	ImageID  int64  `json:"image_id"`
	Position int    `json:"position"`
	Text     string `json:"text"`
}

// TableName maps Reference to image_references.
func (Reference) TableName() string { return "image_references" }

// Captioner is a model under evaluation in a campaign. A new version of the
// same model is a new captioner.
type Captioner struct {
	ID         int64     `gorm:"primaryKey" json:"id"`
	CampaignID int64     `json:"campaign_id"`
	Name       string    `json:"name"`
	Version    string    `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
}

// Caption is what a captioner wrote for an image.
type Caption struct {
	ID          int64  `gorm:"primaryKey" json:"id"`
	CaptionerID int64  `json:"captioner_id"`
	ImageID     int64  `json:"image_id"`
	Text        string `json:"text"`
}

// Score is one automatic metric of one caption.
type Score struct {
	ID            int64     `gorm:"primaryKey" json:"id"`
	CaptionID     int64     `json:"caption_id"`
	Metric        string    `json:"metric"`
	Value         float64   `json:"value"`
	MetricVersion string    `json:"metric_version"`
	CreatedAt     time.Time `json:"created_at"`
}

// CaptionerScore is one aggregate metric of a captioner over the captions N
// it was computed from (corpus BLEU and CIDEr-D are not per-caption means).
type CaptionerScore struct {
	ID            int64     `gorm:"primaryKey" json:"id"`
	CaptionerID   int64     `json:"captioner_id"`
	Metric        string    `json:"metric"`
	Value         float64   `json:"value"`
	MetricVersion string    `json:"metric_version"`
	N             int       `gorm:"column:n" json:"n"`
	CreatedAt     time.Time `json:"created_at"`
}

// JobStatus is where an evaluation job is.
type JobStatus string

// The evaluation job statuses.
const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobDone      JobStatus = "done"
	JobFailed    JobStatus = "failed"
	JobCancelled JobStatus = "cancelled"
)

// EvalJob is a background job that scores a campaign. WorkerID and
// HeartbeatAt let another worker reclaim a job whose worker died.
type EvalJob struct {
	ID          int64      `gorm:"primaryKey" json:"id"`
	CampaignID  int64      `json:"campaign_id"`
	Kind        string     `json:"kind"`
	Status      JobStatus  `json:"status"`
	Done        int        `json:"done"`
	Total       int        `json:"total"`
	Device      string     `json:"device"`
	Error       string     `json:"error"`
	WorkerID    string     `json:"worker_id"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	HeartbeatAt *time.Time `json:"heartbeat_at"`
	// ClaimedAt and ClaimDone are when the current worker claimed the job
	// and how much was done then: a resumed job's rate counts this run only.
	ClaimedAt *time.Time `json:"claimed_at"`
	ClaimDone int        `json:"claim_done"`
	// Attempts counts claims; Notes says what a finished job skipped.
	Attempts int    `json:"attempts"`
	Notes    string `json:"notes"`
}

// EmbeddingKind says what an embedding encodes.
type EmbeddingKind string

// The embedding kinds.
const (
	EmbeddingImage EmbeddingKind = "image"
	EmbeddingText  EmbeddingKind = "text"
)

// Embedding is a cached encoder output, keyed by the model that computed it
// and the hash of the content. Vector holds Dim little-endian float32 values
// (see EncodeVector).
type Embedding struct {
	ID          int64         `gorm:"primaryKey" json:"id"`
	ModelKey    string        `json:"model_key"`
	Kind        EmbeddingKind `json:"kind"`
	ContentHash string        `json:"content_hash"`
	Dim         int           `json:"dim"`
	Vector      []byte        `json:"-"`
	CreatedAt   time.Time     `json:"created_at"`
}

// TaskKind says whether a task shows one caption or a pair.
type TaskKind string

// The task kinds.
const (
	TaskSingle TaskKind = "single"
	TaskPair   TaskKind = "pair"
)

// Task is a unit of human work: one caption to rate on the rubric, or a pair
// of captions to compare. RatingsDone counts submitted ratings; the database
// refuses more than RatingsWanted. ImageID is the image the task shows. A
// gold task has no caption (CaptionID and CaptionBID are nil): it shows the
// texts of its GoldAnswer; a regular one shows CaptionID (and CaptionBID for
// a pair). Migration 0004 keeps a task with ratings, and the captions and
// image it holds, from every delete.
type Task struct {
	ID            int64    `gorm:"primaryKey" json:"id"`
	CampaignID    int64    `json:"campaign_id"`
	ImageID       int64    `json:"image_id"`
	Kind          TaskKind `json:"kind"`
	CaptionID     *int64   `json:"caption_id"`
	CaptionBID    *int64   `gorm:"column:caption_b_id" json:"caption_b_id"`
	RatingsWanted int      `json:"ratings_wanted"`
	RatingsDone   int      `json:"ratings_done"`
	IsGold        bool     `json:"is_gold"`
	GoldAnswer    JSON     `json:"gold_answer"`
	// Seed is the recorded seed of the selection that created the task;
	// Position is its place in the campaign's queue.
	Seed     int64 `json:"seed"`
	Position int   `json:"position"`
	// SetAsideAt is when the task was set aside for the lead (two
	// annotators skipped it as "image broken"); the queue skips it.
	SetAsideAt *time.Time `json:"set_aside_at"`
	// Origin says where the task comes from (migration 0007); empty is
	// written as OriginSelection.
	Origin    TaskOrigin `gorm:"default:selection" json:"origin"`
	CreatedAt time.Time  `json:"created_at"`
}

// TaskOrigin says where a task comes from.
type TaskOrigin string

// The task origins. An imported task carries ratings imported from a file:
// it shows one caption, is never gold and is always complete
// (RatingsDone = RatingsWanted, which the schema enforces), so the queue
// never hands it out.
const (
	OriginSelection TaskOrigin = "selection"
	OriginLeadGold  TaskOrigin = "lead_gold"
	OriginImported  TaskOrigin = "imported"
)

// Shown returns the IDs of the captions the task shows, 0 for none: a gold
// task shows none, a single task no B.
func (t *Task) Shown() (a, b int64) {
	if t.CaptionID != nil {
		a = *t.CaptionID
	}
	if t.CaptionBID != nil {
		b = *t.CaptionBID
	}
	return a, b
}

// Lease is an annotator's claim on a task until ExpiresAt. TakenAt is when
// the current hold began (a lease taken again after it expired starts a new
// one). An expired lease counts for nothing but is kept a while as the
// record that the task was handed to the annotator.
type Lease struct {
	ID          int64     `gorm:"primaryKey" json:"id"`
	TaskID      int64     `json:"task_id"`
	AnnotatorID int64     `json:"annotator_id"`
	ExpiresAt   time.Time `json:"expires_at"`
	TakenAt     time.Time `json:"taken_at"`
	CreatedAt   time.Time `json:"created_at"`
}

// Rating is a submitted answer. ClientID, chosen by the client, makes a
// retried submission idempotent. ShownPosition is 1 when a pair was shown
// swapped (B first), 0 otherwise. A Likert rating holds its scores in
// Answers ({"criterion": value}); a pairwise one holds Choice (a, b, tie or
// both_bad in the stored task's A/B terms) and null Answers. Late marks a
// rating submitted after its lease expired; RevisedAt and Revisions record
// the annotator's changes within the undo window.
//
// Imported marks a rating imported from a file (migration 0007): its
// annotator is ExternalAnnotator, the file's id ("" when it names none),
// AnnotatorID is 0 (NULL in the database, which only an imported rating may
// be), ImportKey makes the import idempotent (unique per task), and its
// answers may be real numbers within the criterion's scale.
type Rating struct {
	ID     int64 `gorm:"primaryKey" json:"id"`
	TaskID int64 `json:"task_id"`
	// AnnotatorID 0 is written as NULL (default:null) and NULL reads as 0.
	AnnotatorID   int64      `gorm:"default:null" json:"annotator_id"`
	Answers       JSON       `json:"answers"`
	Choice        *string    `json:"choice"`
	ShownPosition int        `json:"shown_position"`
	DurationMS    int64      `gorm:"column:duration_ms" json:"duration_ms"`
	Comment       string     `json:"comment"`
	ClientID      string     `json:"client_id"`
	Late          bool       `json:"late"`
	Revisions     int        `json:"revisions"`
	RevisedAt     *time.Time `json:"revised_at"`
	CreatedAt     time.Time  `json:"created_at"`
	// Imported, ExternalAnnotator and ImportKey: see above. ImportKey is
	// nil for a rating given in capeval.
	Imported          bool    `json:"imported"`
	ExternalAnnotator string  `json:"external_annotator"`
	ImportKey         *string `json:"import_key"`
}

// Adjudication is a lead's decision on an item the annotators disagree
// about (migration 0007): for a Likert task the Value of one Criterion
// (a rubric key), for a pairwise task the Choice (a, b, tie or both_bad in
// the stored A/B terms) with Criterion "". Rows are only ever added: the
// latest per (task, criterion) is in force, and one with neither Value nor
// Choice withdraws the decision. DecidedBy is nil for the CLI.
type Adjudication struct {
	ID         int64     `gorm:"primaryKey" json:"id"`
	CampaignID int64     `json:"campaign_id"`
	TaskID     int64     `json:"task_id"`
	Criterion  string    `json:"criterion"`
	Value      *float64  `json:"value"`
	Choice     *string   `json:"choice"`
	Note       string    `json:"note"`
	DecidedBy  *int64    `json:"decided_by"`
	CreatedAt  time.Time `json:"created_at"`
}

// SkipReason is why an annotator skipped a task.
type SkipReason string

// The skip reasons: two fixed ones, and free text (in Skip.Note).
const (
	SkipImageBroken SkipReason = "image_broken"
	SkipCantJudge   SkipReason = "cant_judge"
	SkipOther       SkipReason = "other"
)

// Skip records that an annotator declined a task, and why; the queue never
// hands that task to them again (migration 0005).
type Skip struct {
	ID          int64      `gorm:"primaryKey" json:"id"`
	TaskID      int64      `json:"task_id"`
	AnnotatorID int64      `json:"annotator_id"`
	Reason      SkipReason `json:"reason"`
	Note        string     `json:"note"`
	CreatedAt   time.Time  `json:"created_at"`
}

// AuditEntry records who changed what, before and after. ActorID is nil for
// changes made by the CLI or the system.
type AuditEntry struct {
	ID         int64     `gorm:"primaryKey" json:"id"`
	ActorID    *int64    `json:"actor_id"`
	CampaignID *int64    `json:"campaign_id"`
	Action     string    `json:"action"`
	Before     JSON      `json:"before"`
	After      JSON      `json:"after"`
	CreatedAt  time.Time `json:"created_at"`
}

// All returns one zero value of every entity type, in table creation order.
// Tests use it to check the structs against the migrated schema.
func All() []any {
	return []any{
		&User{}, &Campaign{}, &CampaignAnnotator{}, &Image{}, &Reference{}, &Captioner{},
		&Caption{}, &Score{}, &CaptionerScore{}, &EvalJob{}, &Embedding{}, &Task{},
		&Lease{}, &Rating{}, &AuditEntry{}, &Skip{},
		&CampaignQuality{}, &AnnotatorExclusion{}, &LeftOutTask{}, &Adjudication{},
	}
}

// JSON is a JSON document stored as text. It is written to the database and
// to API responses exactly as held; an empty JSON is the JSON literal null,
// so JSON columns are never SQL NULL.
type JSON []byte

var jsonNull = []byte("null")

// MustJSON marshals v into a JSON and panics on failure; for literals in
// tests and defaults.
func MustJSON(v any) JSON {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("models: MustJSON(%T): %v", v, err))
	}
	return JSON(b)
}

// IsNull reports whether j is empty or the JSON literal null.
func (j JSON) IsNull() bool {
	return len(bytes.TrimSpace(j)) == 0 || bytes.Equal(bytes.TrimSpace(j), jsonNull)
}

// Value writes j as text. Text, not bytes: SQLite would store []byte as a
// BLOB, which its JSON functions read as the binary JSONB format.
func (j JSON) Value() (driver.Value, error) {
	if len(j) == 0 {
		return "null", nil
	}
	if !json.Valid(j) {
		return nil, fmt.Errorf("models: invalid JSON value %.40q", string(j))
	}
	return string(j), nil
}

// Scan reads a JSON column; it copies the bytes, which the driver may reuse.
func (j *JSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case string:
		*j = JSON(v)
	case []byte:
		*j = append(JSON(nil), v...)
	default:
		return fmt.Errorf("models: scan JSON from %T", src)
	}
	return nil
}

// MarshalJSON returns j as is (null when empty).
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return jsonNull, nil
	}
	return j, nil
}

// UnmarshalJSON keeps a copy of the raw document.
func (j *JSON) UnmarshalJSON(b []byte) error {
	*j = append((*j)[:0], b...)
	return nil
}
