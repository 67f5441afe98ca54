package annotation

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"capeval/internal/captionfile"
	"capeval/models"
)

// An import runs in two passes over its files, so that 100,000 captions
// never sit in memory and nothing is written before everything is checked:
//
//  1. Check reads every file once. It keeps, per image id, only a 16-byte
//     digest of the caption (or of the ordered references) and where the
//     record is, and per image its hash and header: enough to find every
//     problem of the files and, against the database, every caption that
//     would change.
//  2. Apply compares the digests with the campaign's rows, writes the new
//     image files to the content-addressed store, and then, in one
//     transaction, inserts the rows while reading the caption files a
//     second time in batches of 1,000, checking each record against its
//     digest (a file that changed in between aborts the transaction).
//
// A staging table would hold the same data on disk instead of in digests,
// at the cost of writing every caption twice; the digests of 100,000
// captions take a few megabytes.

// ImportStore is what the importer needs from the database.
type ImportStore interface {
	InTx(ctx context.Context, fn func(tx *models.Store) error) error
	CampaignByID(ctx context.Context, id int64) (*models.Campaign, error)
	Images(ctx context.Context, campaignID int64, withTags bool) ([]models.Image, error)
	EachReference(ctx context.Context, campaignID int64, fn func(models.Reference) error) error
	CaptionerByName(ctx context.Context, campaignID int64, name, version string) (*models.Captioner, error)
	Captioners(ctx context.Context, campaignID int64) ([]models.CaptionerSummary, error)
	EachCaption(ctx context.Context, captionerIDs []int64, fn func(models.Caption) error) error
	ImportedRatingStore
}

// MaxCaptionerName bounds a captioner's name and version.
const MaxCaptionerName = 200

// insertBatch is how many rows the second pass hands to the store at once.
const insertBatch = 1000

// Importer imports images, references, captioner outputs and human
// judgments into campaigns.
type Importer struct {
	store  ImportStore
	images *ImageStore
	log    *slog.Logger
	// tokenize is the metrics' tokenization, for the reference-leak
	// warning (see WithTokenizer).
	tokenize func(string) string
}

// ImporterOption configures an Importer.
type ImporterOption func(*Importer)

// WithTokenizer makes the reference-leak warning compare captions and
// references after tokenize, which should be the text metrics'
// tokenization (textmetrics.TokenizeString): a caption that is one of its
// image's references word for word after it scores as a perfect match on
// every reference-based metric. The composition root passes it in because
// annotation does not import autoeval; without it the importer compares
// the lower-cased runs of letters and digits, which agrees with the PTB
// tokenization on all but a few captions (clitics, numbers with
// punctuation).
func WithTokenizer(tokenize func(string) string) ImporterOption {
	return func(im *Importer) { im.tokenize = tokenize }
}

// NewImporter returns an importer writing rows through store and image
// files into images.
func NewImporter(store ImportStore, images *ImageStore, log *slog.Logger, opts ...ImporterOption) *Importer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	im := &Importer{store: store, images: images, log: log, tokenize: wordsOnly}
	for _, o := range opts {
		o(im)
	}
	return im
}

// with returns an importer for another store (a transaction) with im's
// options.
func (im *Importer) with(store ImportStore) *Importer {
	return &Importer{store: store, images: im.images, log: im.log, tokenize: im.tokenize}
}

// SourceFile is an input file: Path is where it is read, Name how messages
// call it (the uploaded file's name; empty means Path).
type SourceFile struct {
	Path string
	Name string
}

func (f SourceFile) label() string {
	if f.Name != "" {
		return f.Name
	}
	return f.Path
}

// ResultsFile is the output of one captioner: Name and Version identify it
// in the campaign (a new version is a new captioner).
type ResultsFile struct {
	SourceFile
	Captioner string
	Version   string
}

// ImportRequest says what to import; every part is optional.
type ImportRequest struct {
	// Images is a folder or a .zip of JPEG, PNG, GIF or WebP files.
	Images SourceFile
	// References is a COCO captions annotation file, JSON Lines or CSV.
	// A COCO file's images[] maps file names to image ids.
	References SourceFile
	// Results are captioner outputs: COCO results, JSON Lines or CSV.
	Results []ResultsFile
	// Tags, by external image id, are stored with images this import adds.
	Tags map[string][]string
	// Ratings are human judgments collected elsewhere: JSON Lines or CSV
	// (see import_ratings_file.go), attached to the captions they rate.
	Ratings SourceFile
	// WithoutImages imports a campaign whose image files are not at hand:
	// its images are the ids the references file gives (a COCO file's
	// images[], else the ids of the references), stored without a file.
	// Text metrics and imported judgments work on them; CLIP metrics and
	// the rating UI say the images are missing until a later import with
	// the files fills them in.
	WithoutImages bool
}

// Counts are rows added by an import and rows found identical already.
type Counts struct {
	Added     int `json:"added"`
	Unchanged int `json:"unchanged"`
}

// CaptionerReport is what an import did to one captioner.
type CaptionerReport struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	File     string `json:"file"`
	New      bool   `json:"new"`
	Captions Counts `json:"captions"`
}

// ImportReport tells what an import changed. Unchanged is true when it
// changed nothing at all: the same files imported a second time.
type ImportReport struct {
	CampaignID int64             `json:"campaign_id"`
	Images     Counts            `json:"images"`
	References Counts            `json:"references"`
	Captioners []CaptionerReport `json:"captioners"`
	// Ratings is what a ratings file added; absent without one.
	Ratings *RatingsReport `json:"ratings,omitempty"`
	// ImagesWithoutFile counts the campaign's images that have no file
	// after the import (imported without images).
	ImagesWithoutFile int      `json:"images_without_file,omitempty"`
	Warnings          []string `json:"warnings"`
	Unchanged         bool     `json:"unchanged"`
}

// Import checks the request and applies it to the campaign: Check, then
// Apply. Bad input is a *ValidationError listing the first problems (file,
// line or byte, field) and changes nothing.
func (im *Importer) Import(ctx context.Context, campaignID int64, req ImportRequest) (*ImportReport, error) {
	plan, err := im.Check(ctx, req)
	if err != nil {
		return nil, err
	}
	defer plan.Close()
	return im.Apply(ctx, campaignID, plan)
}

// ImportTarget names the campaign an import goes into: Campaign is its id
// or name. When no campaign has that id or name, one named Campaign is
// created in Mode (default likert), its creation audited as made by
// ActorID (0: the command line); Mode given for an existing campaign must
// be its mode.
type ImportTarget struct {
	Campaign string
	Mode     models.CampaignMode
	ActorID  int64
}

// TargetReport is what ImportInto did: the campaign, whether it created
// it, and the import's report.
type TargetReport struct {
	Campaign *Campaign
	Created  bool
	*ImportReport
}

// ImportInto applies a checked plan to the campaign t names, creating the
// campaign when there is none. Creating and importing are one transaction:
// an import that fails leaves no campaign behind. An existing campaign is
// imported into as Apply does.
func (im *Importer) ImportInto(ctx context.Context, t ImportTarget, plan *Plan) (*TargetReport, error) {
	out := &TargetReport{}
	// The lookup runs in the transaction that creates, so that two imports
	// of one new name cannot both create it.
	err := im.store.InTx(ctx, func(tx *models.Store) error {
		campaigns := NewCampaigns(tx, im.log)
		c, err := campaigns.Lookup(ctx, t.Campaign)
		if err == nil {
			out.Campaign = c
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		if out.Campaign, err = campaigns.Create(ctx, t.ActorID, NewCampaign{Name: t.Campaign, Mode: t.Mode}); err != nil {
			return err
		}
		out.Created = true
		out.ImportReport, err = im.with(tx).Apply(ctx, out.Campaign.ID, plan)
		return err
	})
	if err != nil {
		return nil, err
	}
	if out.Created {
		return out, nil
	}
	if t.Mode != "" && t.Mode != out.Campaign.Mode {
		return nil, fmt.Errorf("%w: campaign %q exists in mode %s, not %s", ErrConflict, out.Campaign.Name, out.Campaign.Mode, t.Mode)
	}
	// An existing campaign's import takes Apply's own transaction, which
	// starts after the files are compared with the campaign's rows.
	if out.ImportReport, err = im.Apply(ctx, out.Campaign.ID, plan); err != nil {
		return nil, err
	}
	return out, nil
}

// digest is the 16-byte fingerprint of a caption text (or of an image's
// ordered references): enough to tell equal from different with a
// negligible chance of a collision.
type digest [16]byte

func textDigest(text string) digest {
	s := sha256.Sum256([]byte(text))
	return digest(s[:16])
}

// chain extends the digest of an ordered list by one text.
func (d digest) chain(text string) digest {
	h := sha256.New()
	h.Write(d[:])
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(text)))
	h.Write(n[:])
	h.Write([]byte(text))
	var out digest
	copy(out[:], h.Sum(nil))
	return out
}

// captionFile is a caption file checked by the first pass.
type captionFile struct {
	src    SourceFile
	format captionfile.Format
	byLine bool // positions are lines (JSON Lines, CSV), else byte offsets
}

func (f *captionFile) where(pos int64, field string) string {
	w := f.src.label()
	if f.byLine {
		w += fmt.Sprintf(": line %d", pos)
	} else {
		w += fmt.Sprintf(": byte %d", pos)
	}
	if field != "" {
		w += ": " + field
	}
	return w
}

// read streams the file in the format the first pass detected.
func (f *captionFile) read(fn func(captionfile.Record) error, onInvalid func(*captionfile.Error) error) error {
	file, err := os.Open(f.src.Path)
	if err != nil {
		return fmt.Errorf("annotation: %s: %w", f.src.label(), err)
	}
	defer file.Close()
	return captionfile.Read(file, f.src.label(), captionfile.Options{Format: f.format, OnInvalid: onInvalid}, fn)
}

func recordPos(r captionfile.Record) int64 {
	if r.Line > 0 {
		return int64(r.Line)
	}
	return r.Offset
}

// refEntry is the first pass's knowledge of one image's references.
type refEntry struct {
	chain digest
	n     int
	pos   int64 // the first reference's line or offset
	// toks are the digests of the references' tokenized texts, for the
	// leak check.
	toks []digest
	// Set by reconcile and used by the second pass.
	add   bool
	again digest
	seen  int
}

// capEntry is the first pass's knowledge of one caption.
type capEntry struct {
	sum digest
	tok digest // of the tokenized text, for the leak check
	pos int64
	add bool
}

// resultsPlan is a checked results file.
type resultsPlan struct {
	file      captionFile
	captioner string
	version   string
	captions  map[string]*capEntry
}

// Plan is a checked import, ready for Apply. Close releases its files.
type Plan struct {
	req      ImportRequest
	source   *imageSource
	images   []scannedImage
	refs     *captionFile
	refsByID map[string]*refEntry
	// cocoIDs are the ids a COCO annotation file lists in images[]: its
	// references for images that are neither imported nor in the campaign
	// are skipped (one annotation file covers a whole split; a campaign
	// may take a part of it).
	cocoIDs  map[string]bool
	results  []*resultsPlan
	ratings  *ratingsPlan
	warnings warnings
	problems Problems // of the files, found by Check
	// tokenize is the importer's, for the leak check.
	tokenize func(string) string
}

// Close releases the open image archive, if any.
func (p *Plan) Close() error {
	if p == nil {
		return nil
	}
	return p.source.Close()
}

// Check reads every file of req once and returns the plan of the import
// with the problems of the files: unknown or malformed formats, missing or
// empty fields, duplicate image ids, unsafe or oversized archive entries,
// undecodable images. Problems that depend on the campaign's rows (an
// image id it does not have, a caption that differs from the one imported
// before) are added by Validate and Apply, which report them all together.
// Check writes nothing; its error is only for failures to read (I/O,
// cancellation). Close the plan when done.
func (im *Importer) Check(ctx context.Context, req ImportRequest) (*Plan, error) {
	p := &Plan{req: req, tokenize: im.tokenize}
	ps := &p.problems
	ok := false
	defer func() {
		if !ok {
			p.Close()
		}
	}()
	if req.Images.Path == "" && req.References.Path == "" && len(req.Results) == 0 && req.Ratings.Path == "" {
		ps.Add("", "nothing to import: give images, references, results or ratings")
		ok = true
		return p, nil
	}
	if req.WithoutImages {
		switch {
		case req.Images.Path != "":
			ps.Add("images", "images are given and the import is without images: give one or the other")
		case req.References.Path == "":
			ps.Add("references", "an import without images takes the image ids from the references file: give one")
		}
	}

	// References first: a COCO annotation file names the image files.
	fileIDs := map[string]string{} // file name → image id
	if req.References.Path != "" {
		if err := p.checkReferences(req.References, fileIDs, im.tokenize, ps); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.Images.Path != "" {
		if err := p.checkImages(req.Images, fileIDs, ps); err != nil {
			return nil, err
		}
	}
	seen := map[string]string{}
	for i, rf := range req.Results {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		where := fmt.Sprintf("results[%d]", i)
		name := strings.TrimSpace(rf.Captioner)
		switch {
		case name == "":
			ps.Add(where+": captioner", "the captioner of %s has no name", rf.label())
			continue
		case utf8.RuneCountInString(name) > MaxCaptionerName || utf8.RuneCountInString(rf.Version) > MaxCaptionerName:
			ps.Add(where+": captioner", "captioner name and version are limited to %d characters", MaxCaptionerName)
			continue
		case strings.ContainsRune(name, '@'):
			ps.Add(where+": captioner", "captioner name %q contains @, which separates the version", name)
			continue
		}
		key := name + "@" + rf.Version
		if other, dup := seen[key]; dup {
			ps.Add(where+": captioner", "%s is given twice (%s and %s)", key, other, rf.label())
			continue
		}
		seen[key] = rf.label()
		rp, err := checkResults(rf, name, im.tokenize, ps)
		if err != nil {
			return nil, err
		}
		if rp != nil {
			p.results = append(p.results, rp)
		}
	}
	if req.Ratings.Path != "" {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rp, err := checkRatings(req.Ratings, ps)
		if err != nil {
			return nil, err
		}
		p.ratings = rp
	}
	ok = true
	return p, nil
}

// detect opens f and finds its format; a problem (empty file, unknown
// format) is added to ps and nil returned.
func detect(f SourceFile, ps *Problems) (*captionFile, error) {
	file, err := os.Open(f.Path)
	if err != nil {
		ps.Add(f.label(), "cannot read the file: %v", unwrapPath(err))
		return nil, nil
	}
	defer file.Close()
	format, err := captionfile.Detect(f.label(), bufio.NewReaderSize(file, 64<<10))
	if err != nil {
		var ce *captionfile.Error
		if errors.As(err, &ce) {
			ps.Add(f.label(), "%v", ce.Err)
			return nil, nil
		}
		return nil, fmt.Errorf("annotation: %s: %w", f.label(), err)
	}
	return &captionFile{src: f, format: format, byLine: format == captionfile.FormatJSONL || format == captionfile.FormatCSV}, nil
}

// readChecked reads a caption file, turning every located read error into
// a problem; I/O errors are returned.
func readChecked(cf *captionFile, ps *Problems, opts captionfile.Options, fn func(captionfile.Record) error) error {
	file, err := os.Open(cf.src.Path)
	if err != nil {
		return fmt.Errorf("annotation: %s: %w", cf.src.label(), err)
	}
	defer file.Close()
	opts.Format = cf.format
	opts.OnInvalid = func(e *captionfile.Error) error {
		ps.Add(locate(e), "%v", e.Err)
		return nil
	}
	err = captionfile.Read(file, cf.src.label(), opts, fn)
	var ce *captionfile.Error
	if errors.As(err, &ce) {
		ps.Add(locate(ce), "%v", ce.Err)
		return nil
	}
	return err
}

// locate turns a captionfile error's position into a problem's Where.
func locate(e *captionfile.Error) string {
	w := e.File
	switch {
	case e.Line > 0:
		w += fmt.Sprintf(": line %d", e.Line)
	case e.Offset >= 0:
		w += fmt.Sprintf(": byte %d", e.Offset)
	}
	if e.Field != "" {
		w += ": " + e.Field
	}
	return w
}

func (p *Plan) checkReferences(f SourceFile, fileIDs map[string]string, tokenize func(string) string, ps *Problems) error {
	cf, err := detect(f, ps)
	if cf == nil || err != nil {
		return err
	}
	p.refs = cf
	p.refsByID = map[string]*refEntry{}
	var opts captionfile.Options
	if cf.format == captionfile.FormatAnnotations {
		p.cocoIDs = map[string]bool{}
		opts.OnImage = func(img captionfile.Image) error {
			p.cocoIDs[img.ID] = true
			if img.FileName == "" {
				return nil
			}
			if id, dup := fileIDs[img.FileName]; dup && id != img.ID {
				ps.Add(f.label()+": images: file_name", "%q is given to image %s and to image %s", img.FileName, id, img.ID)
				return nil
			}
			fileIDs[img.FileName] = img.ID
			// A file_name with a folder ("val2014/x.jpg") also matches
			// the bare file name, unless two images share it.
			if base := filepathBase(img.FileName); base != img.FileName {
				if id, dup := fileIDs[base]; dup && id != img.ID {
					fileIDs[base] = ""
				} else if !dup {
					fileIDs[base] = img.ID
				}
			}
			return nil
		}
	}
	return readChecked(cf, ps, opts, func(r captionfile.Record) error {
		if strings.TrimSpace(r.Caption) == "" {
			ps.Add(cf.where(recordPos(r), "caption"), "empty reference caption for image %s", r.ImageID)
			return nil
		}
		e := p.refsByID[r.ImageID]
		if e == nil {
			e = &refEntry{pos: recordPos(r)}
			p.refsByID[r.ImageID] = e
		}
		e.chain = e.chain.chain(r.Caption)
		e.n++
		e.toks = append(e.toks, textDigest(tokenize(r.Caption)))
		return nil
	})
}

func (p *Plan) checkImages(f SourceFile, fileIDs map[string]string, ps *Problems) error {
	src, err := openImageSource(f.Path, f.label(), ps, &p.warnings)
	if src == nil || err != nil {
		return err
	}
	p.source = src
	idFor := func(name string) string {
		if id, ok := fileIDs[name]; ok && id != "" {
			return id
		}
		if id, ok := fileIDs[filepathBase(name)]; ok && id != "" {
			return id
		}
		return stem(name)
	}
	images, err := src.scan(idFor, ps)
	if err != nil {
		return err
	}
	byID := map[string]string{}  // external id → entry name
	bySum := map[string]string{} // sha256 → external id
	for _, img := range images {
		if other, dup := byID[img.externalID]; dup {
			ps.Add(f.label()+": "+img.name, "image id %q is also the id of %s", img.externalID, other)
			continue
		}
		byID[img.externalID] = img.name
		if other, dup := bySum[img.sum]; dup {
			p.warnings.add("%s: %s (image %s) has the same content as image %s: stored once", f.label(), img.name, img.externalID, other)
		} else {
			bySum[img.sum] = img.externalID
		}
		p.images = append(p.images, img)
	}
	return nil
}

func filepathBase(name string) string { return filepath.Base(filepath.FromSlash(name)) }

func checkResults(rf ResultsFile, name string, tokenize func(string) string, ps *Problems) (*resultsPlan, error) {
	cf, err := detect(rf.SourceFile, ps)
	if cf == nil || err != nil {
		return nil, err
	}
	if cf.format == captionfile.FormatAnnotations {
		ps.Add(rf.label(), "this is a COCO captions annotation file (references); a results file is [{\"image_id\", \"caption\"}], JSON Lines or CSV")
		return nil, nil
	}
	rp := &resultsPlan{file: *cf, captioner: name, version: rf.Version, captions: map[string]*capEntry{}}
	err = readChecked(cf, ps, captionfile.Options{}, func(r captionfile.Record) error {
		pos := recordPos(r)
		if strings.TrimSpace(r.Caption) == "" {
			ps.Add(cf.where(pos, "caption"), "empty caption for image %s", r.ImageID)
			return nil
		}
		if first, dup := rp.captions[r.ImageID]; dup {
			ps.Add(cf.where(pos, "image_id"), "image %s has a caption already at %s", r.ImageID, strings.TrimPrefix(cf.where(first.pos, ""), cf.src.label()+": "))
			return nil
		}
		rp.captions[r.ImageID] = &capEntry{sum: textDigest(r.Caption), tok: textDigest(tokenize(r.Caption)), pos: pos}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rp, nil
}
