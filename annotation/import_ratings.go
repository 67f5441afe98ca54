package annotation

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"capeval/models"
)

// Imported human judgments. A ratings file (import_ratings_file.go) rates
// captions of the campaign: each record names an image, a captioner
// NAME[@VERSION] (of the campaign or of the same import) and optionally
// the annotator, with a value per criterion of the rubric. Each rated
// caption gets one task of origin 'imported', complete from the start so
// the queue never hands it out, and the ratings hang off it marked as
// imported, their annotator the file's id: agreement, correlation and the
// leaderboard then read them exactly like ratings given in the UI.
//
// Idempotency: each rating's key is a digest of its image, captioner and
// annotator (and, for records without an annotator, of the ordinal of the
// record among those of the same image and captioner: published averaged
// scores name no annotator). The same file imported again adds nothing; a
// key imported before with other values is refused, as a changed caption
// is: imported judgments are never overwritten.

// RatingsReport is what an import did with a ratings file.
type RatingsReport struct {
	File      string `json:"file"`
	Added     int    `json:"added"`
	Unchanged int    `json:"unchanged"`
	// Annotators counts the distinct annotator ids of the file; Anonymous
	// the records that name none.
	Annotators int `json:"annotators"`
	Anonymous  int `json:"anonymous"`
	// Captions counts the distinct captions the file rates.
	Captions int `json:"captions"`
}

// ImportedRatingStore is what the import reads of the ratings imported
// before.
type ImportedRatingStore interface {
	EachImportedRatingKey(ctx context.Context, campaignID int64, fn func(models.ImportedRatingKey) error) error
}

// ratingKey is the first pass's knowledge of one record.
type ratingKey struct {
	triple  digest // image, captioner, annotator
	key     digest // triple and ordinal: the import key
	answers digest
	line    int
	named   bool // the record names its annotator
	add     bool // set by reconcile
}

// ratingsPlan is a checked ratings file.
type ratingsPlan struct {
	src    SourceFile
	format ratingsFormat
	// keys are the records in file order.
	keys []ratingKey
	// captioners are the NAME@VERSION the file names, with the first
	// line naming each.
	captioners map[string]int
	annotators map[string]bool
	anonymous  int
	// newPerCaption counts, by captioner NAME@VERSION and image id, the
	// ratings to add (set by reconcile).
	newPerCaption map[string]int
}

// importKey is how a ratings key is stored (ratings.import_key); the client
// ID, which every rating needs, is derived from it.
func (k digest) importKey() string { return hex.EncodeToString(k[:]) }

func ratingTriple(imageID, name, version, annotator string) digest {
	return digest{}.chain(imageID).chain(name).chain(version).chain(annotator)
}

// answersDigest is the digest of a record's values, in key order, so that
// the file's and the database's forms of one answer compare equal.
func answersDigest(values []ratingValue) digest {
	d := digest{}
	var b [8]byte
	for _, v := range values {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v.value))
		d = d.chain(v.key).chain(string(b[:]))
	}
	return d
}

// storedAnswersDigest reads the answers of a stored rating as
// answersDigest does a record's.
func storedAnswersDigest(doc models.JSON) (digest, error) {
	var m map[string]float64
	if err := json.Unmarshal(doc, &m); err != nil {
		return digest{}, err
	}
	values := make([]ratingValue, 0, len(m))
	for k, v := range m {
		values = append(values, ratingValue{k, v})
	}
	slices.SortFunc(values, func(a, b ratingValue) int { return strings.Compare(a.key, b.key) })
	return answersDigest(values), nil
}

// checkRatings reads a ratings file once: its own problems go to ps, and
// the plan keeps a digest per record (its key and its values) with the
// captioners it names.
func checkRatings(f SourceFile, ps *Problems) (*ratingsPlan, error) {
	format, ok := detectRatings(f, ps)
	if !ok {
		return nil, nil
	}
	rp := &ratingsPlan{src: f, format: format, captioners: map[string]int{}, annotators: map[string]bool{}}
	err := readRatings(f, format, ps, func(r *ratingRecord) error {
		who := r.who()
		if _, seen := rp.captioners[who]; !seen {
			rp.captioners[who] = r.line
		}
		if r.annotator == "" {
			rp.anonymous++
		} else {
			rp.annotators[r.annotator] = true
		}
		rp.keys = append(rp.keys, ratingKey{triple: ratingTriple(r.imageID, r.name, r.version, r.annotator),
			answers: answersDigest(r.values), line: r.line, named: r.annotator != ""})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(rp.keys) == 0 && ps.Len() == 0 {
		ps.Add(f.label(), "the ratings file has no ratings")
	}
	// Ordinals: records of one triple in file order. A named annotator
	// rates a caption once; a second record is a problem.
	order := make([]int, len(rp.keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := compareDigest(rp.keys[a].triple, rp.keys[b].triple); c != 0 {
			return c
		}
		return rp.keys[a].line - rp.keys[b].line
	})
	for i, n := 0, 0; i < len(order); i++ {
		k := &rp.keys[order[i]]
		if i > 0 && rp.keys[order[i-1]].triple == k.triple {
			n++
		} else {
			n = 0
		}
		if n > 0 && k.named {
			ps.Add(lineWhere(f.label(), k.line, "annotator"), "this annotator rated this image's caption by this captioner at line %d already",
				rp.keys[order[i-n]].line)
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(n))
		k.key = k.triple.chain(string(b[:]))
	}
	return rp, nil
}

func compareDigest(a, b digest) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// ratedCaptions maps each captioner the ratings name to the images it has a
// caption for, in the campaign or in this import's results files.
func ratedCaptions(ctx context.Context, st ImportStore, campaignID int64, plan *Plan, byRow map[int64]string) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	for who := range plan.ratings.captioners {
		out[who] = nil
	}
	for _, rp := range plan.results {
		who := captionerName(rp.captioner, rp.version)
		if _, named := out[who]; !named {
			continue
		}
		m := map[string]bool{}
		for id := range rp.captions {
			m[id] = true
		}
		out[who] = m
	}
	if campaignID == 0 {
		return out, nil
	}
	for who := range out {
		name, version, _ := strings.Cut(who, "@")
		c, err := st.CaptionerByName(ctx, campaignID, name, version)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("annotation: import: %w", err)
		}
		if out[who] == nil {
			out[who] = map[string]bool{}
		}
		err = st.EachCaption(ctx, []int64{c.ID}, func(cp models.Caption) error {
			out[who][byRow[cp.ImageID]] = true
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("annotation: import: %w", err)
		}
	}
	return out, nil
}

// reconcileRatings checks every record against the campaign (the rubric's
// criteria and ranges, the images, captioners and their captions) and
// against the ratings imported before, setting each key's add flag and
// counting the new ratings of each caption (what writeRatings creates or
// grows each caption's imported task by).
func reconcileRatings(ctx context.Context, st ImportStore, campaignID int64, plan *Plan, out *outcome,
	isImage func(string) bool, ps *Problems) error {
	rp := plan.ratings
	label := rp.src.label()
	rubric := DefaultRubric()
	if campaignID != 0 {
		c, err := st.CampaignByID(ctx, campaignID)
		if err != nil {
			return fmt.Errorf("annotation: import: %w", err)
		}
		if c.Mode != models.ModeLikert {
			ps.Add(label, "campaign %q is %s: imported ratings are Likert scores of captions, for a likert campaign", c.Name, c.Mode)
			return nil
		}
		rubric = storedRubric(c.Rubric)
	}
	scales := map[string]Scale{}
	for _, c := range rubric.Criteria {
		scales[c.Key] = c.Scale
	}
	byRow := make(map[int64]string, len(out.ids))
	for ext, id := range out.ids {
		byRow[id] = ext
	}
	captions, err := ratedCaptions(ctx, st, campaignID, plan, byRow)
	if err != nil {
		return err
	}
	before := map[digest]digest{}
	if campaignID != 0 {
		err := st.EachImportedRatingKey(ctx, campaignID, func(k models.ImportedRatingKey) error {
			raw, err := hex.DecodeString(k.ImportKey)
			if err != nil || len(raw) != len(digest{}) {
				return nil // not one of this importer's keys
			}
			a, err := storedAnswersDigest(k.Answers)
			if err != nil {
				return fmt.Errorf("annotation: import: stored answers of imported rating %s: %w", k.ImportKey, err)
			}
			before[digest(raw)] = a
			return nil
		})
		if err != nil {
			return fmt.Errorf("annotation: import: %w", err)
		}
	}
	rep := &RatingsReport{File: label, Annotators: len(rp.annotators), Anonymous: rp.anonymous}
	rp.newPerCaption = map[string]int{}
	var scratch Problems // the file's own problems were found by Check
	i := 0
	rated := map[string]bool{}
	err = readRatings(rp.src, rp.format, &scratch, func(r *ratingRecord) error {
		if i >= len(rp.keys) || rp.keys[i].line != r.line {
			return fmt.Errorf("%s: line %d: %w", label, r.line, errFileChanged)
		}
		k := &rp.keys[i]
		i++
		capKey := r.who() + "\x00" + r.imageID
		switch imgs := captions[r.who()]; {
		case !isImage(r.imageID):
			ps.Add(lineWhere(label, r.line, "image_id"), "no image %s in the campaign nor in this import", r.imageID)
		case imgs == nil:
			ps.Add(lineWhere(label, r.line, "captioner"), "no captioner %s in the campaign nor in this import (import its results first, or with these ratings)", r.who())
		case !imgs[r.imageID]:
			ps.Add(lineWhere(label, r.line, "image_id"), "captioner %s has no caption for image %s", r.who(), r.imageID)
		default:
			rated[capKey] = true
		}
		for _, v := range r.values {
			where := lineWhere(label, r.line, v.key)
			if rp.format == ratingsJSONL {
				where = lineWhere(label, r.line, "ratings."+v.key)
			}
			sc, ok := scales[v.key]
			if !ok {
				ps.Add(where, "the campaign's rubric has no criterion %q (it has %s)", v.key, strings.Join(rubric.Keys(), ", "))
				continue
			}
			if v.value < float64(sc.Min) || v.value > float64(sc.Max) {
				ps.Add(where, "%g is outside the criterion's scale %d–%d", v.value, sc.Min, sc.Max)
			}
		}
		k.add = false
		prev, had := before[k.key]
		switch {
		case !had:
			k.add = true
			rep.Added++
			rp.newPerCaption[capKey]++
		case prev == k.answers:
			rep.Unchanged++
		default:
			ps.Add(lineWhere(label, k.line, "ratings"), "this rating was imported before with other values: imported ratings are never overwritten")
		}
		return nil
	})
	if err != nil {
		return err
	}
	if i != len(rp.keys) {
		return fmt.Errorf("%s: %w", label, errFileChanged)
	}
	rep.Captions = len(rated)
	out.report.Ratings = rep
	return nil
}

// writeRatings inserts the new imported ratings through tx, after the
// import's captions: each rated caption's imported task is created, or
// grown, by the count reconcile made (the schema wants it complete at all
// times), then the file is read once more and the ratings inserted in
// batches.
func writeRatings(ctx context.Context, tx *models.Store, campaignID int64, plan *Plan, out *outcome) error {
	rp := plan.ratings
	if out.report.Ratings == nil || out.report.Ratings.Added == 0 {
		return nil
	}
	label := rp.src.label()
	type captionRef struct{ caption, image int64 }
	captionOf := map[string]captionRef{} // who \x00 external image id
	byRow := make(map[int64]string, len(out.ids))
	for ext, id := range out.ids {
		byRow[id] = ext
	}
	for who := range rp.captioners {
		name, version, _ := strings.Cut(who, "@")
		c, err := tx.CaptionerByName(ctx, campaignID, name, version)
		if err != nil {
			return fmt.Errorf("captioner %s: %w", who, err)
		}
		err = tx.EachCaption(ctx, []int64{c.ID}, func(cp models.Caption) error {
			key := who + "\x00" + byRow[cp.ImageID]
			if rp.newPerCaption[key] > 0 {
				captionOf[key] = captionRef{cp.ID, cp.ImageID}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	existing, err := tx.ImportedTasks(ctx, campaignID)
	if err != nil {
		return err
	}
	taskOf := map[int64]int64{}
	for _, t := range existing {
		if t.CaptionID != nil {
			taskOf[*t.CaptionID] = t.ID
		}
	}
	keys := make([]string, 0, len(rp.newPerCaption))
	for k := range rp.newPerCaption {
		keys = append(keys, k)
	}
	slices.Sort(keys) // tasks in a stable order
	var tasks []models.Task
	var links [][]models.TaskCaption
	for _, key := range keys {
		n := rp.newPerCaption[key]
		c, ok := captionOf[key]
		if !ok {
			return fmt.Errorf("%s: %s has no caption: %w", label, strings.ReplaceAll(key, "\x00", " of image "), errFileChanged)
		}
		if id, ok := taskOf[c.caption]; ok {
			if err := tx.GrowImportedTask(ctx, id, n); err != nil {
				return err
			}
			continue
		}
		cid := c.caption
		tasks = append(tasks, models.Task{CampaignID: campaignID, ImageID: c.image, Kind: models.TaskSingle,
			CaptionID: &cid, RatingsWanted: n, RatingsDone: n, Origin: models.OriginImported})
		links = append(links, []models.TaskCaption{{CaptionID: cid, Side: 0}})
	}
	if err := tx.InsertTasks(ctx, tasks, links); err != nil {
		return err
	}
	for _, t := range tasks {
		taskOf[*t.CaptionID] = t.ID
	}
	batch := make([]models.Rating, 0, insertBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := tx.InsertImportedRatings(ctx, batch)
		batch = batch[:0]
		return err
	}
	var scratch Problems
	i, written := 0, 0
	err = readRatings(rp.src, rp.format, &scratch, func(r *ratingRecord) error {
		if i >= len(rp.keys) || rp.keys[i].line != r.line || rp.keys[i].triple != ratingTriple(r.imageID, r.name, r.version, r.annotator) ||
			rp.keys[i].answers != answersDigest(r.values) {
			return fmt.Errorf("%s: line %d: %w", label, r.line, errFileChanged)
		}
		k := &rp.keys[i]
		i++
		if !k.add {
			return nil
		}
		c, ok := captionOf[r.who()+"\x00"+r.imageID]
		if !ok {
			return fmt.Errorf("%s: line %d: %w", label, r.line, errFileChanged)
		}
		answers := make(map[string]float64, len(r.values))
		for _, v := range r.values {
			answers[v.key] = v.value
		}
		key := k.key.importKey()
		batch = append(batch, models.Rating{TaskID: taskOf[c.caption], Answers: models.MustJSON(answers), ClientID: "import:" + key,
			Imported: true, ExternalAnnotator: r.annotator, ImportKey: &key})
		written++
		if len(batch) == insertBatch {
			if err := ctx.Err(); err != nil {
				return err
			}
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil && (i != len(rp.keys) || scratch.Len() > 0 || written != out.report.Ratings.Added) {
		err = fmt.Errorf("%s: %w", label, errFileChanged)
	}
	return err
}
