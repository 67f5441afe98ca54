package annotation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"capeval/internal/captionfile"
	"capeval/models"
)

// outcome is a plan compared with the campaign's rows: what to add, what is
// there already, and the report that follows.
type outcome struct {
	ids       map[string]int64 // external id → image row, filled for new images by write
	newImages []int            // indices into Plan.images
	// fillImages are indices into Plan.images of images the campaign has
	// without a file (imported without images), which this import gives
	// their file.
	fillImages []int
	// bareImages are the external ids of images added without a file.
	bareImages []string
	captioners []*models.Captioner
	report     ImportReport
}

func (o *outcome) changes() bool {
	if o.report.Images.Added > 0 || o.report.References.Added > 0 {
		return true
	}
	if o.report.Ratings != nil && o.report.Ratings.Added > 0 {
		return true
	}
	for _, c := range o.report.Captioners {
		if c.New || c.Captions.Added > 0 {
			return true
		}
	}
	return false
}

// Apply imports a checked plan into the campaign. It compares the plan
// with the campaign's rows (problems: ids the campaign lacks, an image id
// with other content, references or captions that differ from those
// imported before — never overwritten), writes the new image files, then
// inserts every row in one transaction, all or nothing. Importing the same
// files again changes nothing and reports Unchanged. A missing campaign
// wraps ErrNotFound, a closed one ErrConflict.
//
// Image files are written before the transaction; if it fails they stay as
// orphans in the content-addressed store, harmless (nothing points to
// them) and reused by the next import of the same content. Removing them
// could delete a file that a concurrent import of the same content has
// just recorded.
func (im *Importer) Apply(ctx context.Context, campaignID int64, plan *Plan) (*ImportReport, error) {
	c, err := im.store.CampaignByID(ctx, campaignID)
	if err := openCampaign(c, err, campaignID); err != nil {
		return nil, err
	}
	out, err := reconcile(ctx, im.store, campaignID, plan)
	if err != nil {
		return nil, err
	}
	if !out.changes() {
		out.report.Unchanged = true
		im.log.InfoContext(ctx, "import changed nothing", "campaign_id", campaignID)
		return &out.report, nil
	}
	if err := im.storeImages(ctx, plan, out); err != nil {
		return nil, err
	}
	// The comparison is repeated inside the transaction, with the campaign
	// locked: another import may have run since the first one.
	err = im.store.InTx(ctx, func(tx *models.Store) error {
		c, err := tx.LockCampaign(ctx, campaignID)
		if err := openCampaign(c, err, campaignID); err != nil {
			return err
		}
		o, err := reconcile(ctx, tx, campaignID, plan)
		if err != nil {
			return err
		}
		out = o
		if !o.changes() {
			return nil // a concurrent import of the same files came first
		}
		if err := im.storeImages(ctx, plan, o); err != nil {
			return err
		}
		return write(ctx, tx, campaignID, plan, o)
	})
	if err != nil {
		return nil, wrapErr(err, "import into campaign %d", campaignID)
	}
	r := &out.report
	r.Unchanged = !out.changes()
	im.log.InfoContext(ctx, "import applied", "campaign_id", campaignID, "images_added", r.Images.Added,
		"references_added", r.References.Added, "captioners", len(r.Captioners), "warnings", len(r.Warnings))
	return r, nil
}

// Validate reports every problem of the plan against the campaign, the
// files' own and those that depend on the campaign's rows, as one
// *ValidationError, without writing anything. campaignID 0 stands for a
// campaign that does not exist yet (the command line creates it only when
// the files are good).
func (im *Importer) Validate(ctx context.Context, campaignID int64, plan *Plan) error {
	if campaignID != 0 {
		c, err := im.store.CampaignByID(ctx, campaignID)
		if err := openCampaign(c, err, campaignID); err != nil {
			return err
		}
	}
	_, err := reconcile(ctx, im.store, campaignID, plan)
	return err
}

// openCampaign checks the campaign read by CampaignByID or LockCampaign:
// it must exist and not be closed.
func openCampaign(c *models.Campaign, err error, id int64) error {
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("%w: no campaign with id %d", ErrNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("annotation: import: %w", err)
	}
	if c.Status == models.StatusClosed {
		return fmt.Errorf("%w: campaign %q is closed: nothing more can be imported into it", ErrConflict, c.Name)
	}
	return nil
}

// storeImages writes the files of the outcome's new images that the store
// lacks, reading each entry a second time and checking its hash.
func (im *Importer) storeImages(ctx context.Context, plan *Plan, out *outcome) error {
	for _, i := range slices.Concat(out.newImages, out.fillImages) {
		if err := ctx.Err(); err != nil {
			return err
		}
		img := &plan.images[i]
		if im.images.Has(StorageKey(img.sum, img.ext)) {
			continue
		}
		rc, err := img.open()
		if err != nil {
			return fmt.Errorf("annotation: import: open %s: %w", img.name, err)
		}
		_, err = im.images.Put(rc, img.sum, img.ext, MaxImageBytes)
		rc.Close()
		if err != nil {
			return fmt.Errorf("annotation: import: %s: %w", img.name, err)
		}
	}
	return nil
}

// reconcile compares the plan with the campaign's rows through st (the
// store or a transaction). It resets and sets the add flags of the plan's
// entries and returns a *ValidationError for every conflict.
func reconcile(ctx context.Context, st ImportStore, campaignID int64, plan *Plan) (*outcome, error) {
	out := &outcome{ids: map[string]int64{}, report: ImportReport{CampaignID: campaignID, Captioners: []CaptionerReport{}}}
	warn := plan.warnings
	warn.list = append([]string(nil), warn.list...)
	ps := plan.problems
	ps.list = append([]Problem(nil), ps.list...)

	keys, err := st.Images(ctx, campaignID, false)
	if err != nil {
		return nil, fmt.Errorf("annotation: import: %w", err)
	}
	bySum := map[string]string{}
	sums := map[string]string{}
	withoutFile := 0
	for _, k := range keys {
		if k.SHA256 == "" {
			withoutFile++
		}
		out.ids[k.ExternalID] = k.ID
		sums[k.ExternalID] = k.SHA256
		if _, ok := bySum[k.SHA256]; !ok && k.SHA256 != "" {
			bySum[k.SHA256] = k.ExternalID
		}
	}
	keys = nil
	known := func(id string) bool { _, ok := out.ids[id]; return ok }
	newIDs := map[string]bool{}
	label := plan.req.Images.label()
	for i, img := range plan.images {
		if sum, ok := sums[img.externalID]; ok {
			if sum == "" {
				// Imported without its file before: this import brings it.
				out.fillImages = append(out.fillImages, i)
				out.report.Images.Added++
				withoutFile--
				continue
			}
			if sum != img.sum {
				ps.Add(label+": "+img.name, "image %s is in the campaign already with other content (sha256 %.12s…, this file %.12s…): an image never changes; give this one another id",
					img.externalID, sum, img.sum)
				continue
			}
			out.report.Images.Unchanged++
			continue
		}
		if other, ok := bySum[img.sum]; ok {
			warn.add("%s: %s (image %s) has the same content as image %s of the campaign: stored once", label, img.name, img.externalID, other)
		}
		newIDs[img.externalID] = true
		out.newImages = append(out.newImages, i)
		out.report.Images.Added++
	}
	if plan.req.WithoutImages && plan.refs != nil {
		// The references file gives the ids: a COCO file's images[], else
		// the ids of its references.
		ids := plan.cocoIDs
		if ids == nil {
			ids = map[string]bool{}
			for id := range plan.refsByID {
				ids[id] = true
			}
		}
		for id := range ids {
			if !known(id) {
				newIDs[id] = true
				out.bareImages = append(out.bareImages, id)
			}
		}
		sort.Strings(out.bareImages)
		out.report.Images.Added += len(out.bareImages)
		withoutFile += len(out.bareImages)
	}
	isImage := func(id string) bool { return known(id) || newIDs[id] }

	if plan.refs != nil {
		if err := reconcileRefs(ctx, st, campaignID, plan, out, isImage, &ps, &warn); err != nil {
			return nil, err
		}
	}
	for _, rp := range plan.results {
		if err := reconcileResults(ctx, st, campaignID, rp, out, isImage, &ps); err != nil {
			return nil, err
		}
	}
	rated := map[string]bool{}
	if plan.ratings != nil {
		if err := reconcileRatings(ctx, st, campaignID, plan, out, isImage, &ps); err != nil {
			return nil, err
		}
		for who := range plan.ratings.captioners {
			rated[who] = true
		}
	}
	if err := ps.Err("import"); err != nil {
		return nil, err
	}
	if err := checkLeaks(ctx, st, campaignID, plan, out, rated, &warn); err != nil {
		return nil, err
	}
	if withoutFile > 0 {
		out.report.ImagesWithoutFile = withoutFile
		warn.add("%d images of the campaign have no file (imported without images): text metrics and imported ratings work without them; CLIP metrics and the rating UI need the files (import them with the images' folder or zip)",
			withoutFile)
	}
	out.report.Warnings = warn.result()
	return out, nil
}

type byPos[E any] struct {
	id string
	e  E
}

// sortedByPos lists a map's entries in file order, so that problems come
// in the order a reader of the file meets them.
func sortedByPos[E any](m map[string]E, pos func(E) int64) []byPos[E] {
	out := make([]byPos[E], 0, len(m))
	for id, e := range m {
		out = append(out, byPos[E]{id, e})
	}
	sort.Slice(out, func(i, j int) bool { return pos(out[i].e) < pos(out[j].e) })
	return out
}

func reconcileRefs(ctx context.Context, st ImportStore, campaignID int64, plan *Plan, out *outcome,
	isImage func(string) bool, ps *Problems, warn *warnings) error {
	cf := plan.refs
	entries := sortedByPos(plan.refsByID, func(e *refEntry) int64 { return e.pos })
	existing := map[int64]*refEntry{} // image row → the campaign's references
	var skipped, skippedRefs, matched int
	var example []string
	for _, x := range entries {
		x.e.add = false
		if !isImage(x.id) {
			if plan.cocoIDs[x.id] {
				skipped++
				skippedRefs += x.e.n
				if len(example) < 3 {
					example = append(example, x.id)
				}
				continue
			}
			ps.Add(cf.where(x.e.pos, "image_id"), "no image %s in the campaign nor in this import", x.id)
			continue
		}
		matched++
		if id, ok := out.ids[x.id]; ok {
			existing[id] = &refEntry{}
		}
	}
	if skipped > 0 && matched == 0 {
		ps.Add(cf.src.label(), "none of its %d images with references is in the campaign nor in this import (e.g. %s)", skipped, strings.Join(example, ", "))
		return nil
	}
	if skipped > 0 {
		warn.add("%s: skipped %d references of %d images that the file lists but the campaign does not have (e.g. %s)",
			cf.src.label(), skippedRefs, skipped, strings.Join(example, ", "))
	}
	if len(existing) > 0 {
		err := st.EachReference(ctx, campaignID, func(r models.Reference) error {
			if e := existing[r.ImageID]; e != nil {
				e.chain = e.chain.chain(r.Text)
				e.n++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("annotation: import: %w", err)
		}
	}
	for _, x := range entries {
		if !isImage(x.id) {
			continue
		}
		old := existing[out.ids[x.id]]
		switch {
		case old == nil || old.n == 0:
			x.e.add = true
			out.report.References.Added += x.e.n
		case old.n == x.e.n && old.chain == x.e.chain:
			out.report.References.Unchanged += x.e.n
		default:
			ps.Add(cf.where(x.e.pos, "caption"), "the references of image %s differ from the %d the campaign has (the file gives %d): references are never overwritten",
				x.id, old.n, x.e.n)
		}
	}
	return nil
}

func reconcileResults(ctx context.Context, st ImportStore, campaignID int64, rp *resultsPlan, out *outcome,
	isImage func(string) bool, ps *Problems) error {
	cf := &rp.file
	rep := CaptionerReport{Name: rp.captioner, Version: rp.version, File: cf.src.label()}
	c, err := st.CaptionerByName(ctx, campaignID, rp.captioner, rp.version)
	switch {
	case errors.Is(err, models.ErrNotFound):
		rep.New = true
		c = nil
	case err != nil:
		return fmt.Errorf("annotation: import: %w", err)
	default:
		rep.ID = c.ID
	}
	var old map[int64]digest
	if c != nil {
		old = map[int64]digest{}
		err := st.EachCaption(ctx, []int64{c.ID}, func(cp models.Caption) error {
			old[cp.ImageID] = textDigest(cp.Text)
			return nil
		})
		if err != nil {
			return fmt.Errorf("annotation: import: %w", err)
		}
	}
	who := rp.captioner
	if rp.version != "" {
		who += "@" + rp.version
	}
	for _, x := range sortedByPos(rp.captions, func(e *capEntry) int64 { return e.pos }) {
		x.e.add = false
		if !isImage(x.id) {
			ps.Add(cf.where(x.e.pos, "image_id"), "no image %s in the campaign nor in this import", x.id)
			continue
		}
		prev, had := old[out.ids[x.id]]
		switch {
		case !had:
			x.e.add = true
			rep.Captions.Added++
		case prev == x.e.sum:
			rep.Captions.Unchanged++
		default:
			ps.Add(cf.where(x.e.pos, "caption"), "captioner %s has another caption for image %s already: captions are never overwritten (a changed model is a new version)",
				who, x.id)
		}
	}
	out.captioners = append(out.captioners, c)
	out.report.Captioners = append(out.report.Captioners, rep)
	return nil
}

// write inserts the outcome's rows through tx, reading the caption files a
// second time in batches.
func write(ctx context.Context, tx *models.Store, campaignID int64, plan *Plan, out *outcome) error {
	for start := 0; start < len(out.newImages); start += insertBatch {
		batch := out.newImages[start:min(start+insertBatch, len(out.newImages))]
		rows := make([]models.Image, len(batch))
		for j, i := range batch {
			img := &plan.images[i]
			rows[j] = models.Image{CampaignID: campaignID, ExternalID: img.externalID, SHA256: img.sum,
				StorageKey: StorageKey(img.sum, img.ext), Width: img.width, Height: img.height}
			if tags, ok := plan.req.Tags[img.externalID]; ok {
				rows[j].Tags = models.MustJSON(tags)
			}
		}
		if err := tx.InsertImages(ctx, rows); err != nil {
			return err
		}
		for _, r := range rows {
			out.ids[r.ExternalID] = r.ID
		}
	}
	for start := 0; start < len(out.bareImages); start += insertBatch {
		batch := out.bareImages[start:min(start+insertBatch, len(out.bareImages))]
		rows := make([]models.Image, len(batch))
		for j, id := range batch {
			rows[j] = models.Image{CampaignID: campaignID, ExternalID: id}
			if tags, ok := plan.req.Tags[id]; ok {
				rows[j].Tags = models.MustJSON(tags)
			}
		}
		if err := tx.InsertImages(ctx, rows); err != nil {
			return err
		}
		for _, r := range rows {
			out.ids[r.ExternalID] = r.ID
		}
	}
	for _, i := range out.fillImages {
		img := &plan.images[i]
		if err := tx.SetImageFile(ctx, out.ids[img.externalID], img.sum, StorageKey(img.sum, img.ext), img.width, img.height); err != nil {
			return err
		}
	}
	if plan.refs != nil && out.report.References.Added > 0 {
		if err := writeRefs(ctx, tx, plan, out); err != nil {
			return err
		}
	}
	for i, rp := range plan.results {
		rep := &out.report.Captioners[i]
		if !rep.New && rep.Captions.Added == 0 {
			continue
		}
		c := out.captioners[i]
		if c == nil {
			c = &models.Captioner{CampaignID: campaignID, Name: rp.captioner, Version: rp.version}
			if err := tx.CreateCaptioner(ctx, c); err != nil {
				return err
			}
			rep.ID = c.ID
		}
		if err := writeCaptions(ctx, tx, c.ID, rp, out); err != nil {
			return err
		}
	}
	if plan.ratings != nil {
		return writeRatings(ctx, tx, campaignID, plan, out)
	}
	return nil
}

func writeRefs(ctx context.Context, tx *models.Store, plan *Plan, out *outcome) error {
	for _, e := range plan.refsByID {
		e.again, e.seen = digest{}, 0
	}
	cf := plan.refs
	batch := make([]models.Reference, 0, insertBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := tx.InsertReferences(ctx, batch)
		batch = batch[:0]
		return err
	}
	err := cf.read(func(r captionfile.Record) error {
		e := plan.refsByID[r.ImageID]
		if e == nil {
			return fmt.Errorf("%s: %s: %w", cf.src.label(), r.Pos(), errFileChanged)
		}
		e.again = e.again.chain(r.Caption)
		e.seen++
		if !e.add {
			return nil
		}
		batch = append(batch, models.Reference{ImageID: out.ids[r.ImageID], Position: e.seen - 1, Text: r.Caption})
		if len(batch) == insertBatch {
			if err := ctx.Err(); err != nil {
				return err
			}
			return flush()
		}
		return nil
	}, nil)
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	for id, e := range plan.refsByID {
		if e.again != e.chain || e.seen != e.n {
			return fmt.Errorf("%s: references of image %s: %w", cf.src.label(), id, errFileChanged)
		}
	}
	return nil
}

func writeCaptions(ctx context.Context, tx *models.Store, captionerID int64, rp *resultsPlan, out *outcome) error {
	cf := &rp.file
	batch := make([]models.Caption, 0, insertBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := tx.InsertCaptions(ctx, batch)
		batch = batch[:0]
		return err
	}
	n := 0
	err := cf.read(func(r captionfile.Record) error {
		e := rp.captions[r.ImageID]
		if e == nil || e.sum != textDigest(r.Caption) {
			return fmt.Errorf("%s: %s: %w", cf.src.label(), r.Pos(), errFileChanged)
		}
		n++
		if !e.add {
			return nil
		}
		batch = append(batch, models.Caption{CaptionerID: captionerID, ImageID: out.ids[r.ImageID], Text: r.Caption})
		if len(batch) == insertBatch {
			if err := ctx.Err(); err != nil {
				return err
			}
			return flush()
		}
		return nil
	}, nil)
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	if n != len(rp.captions) {
		return fmt.Errorf("%s: %w", cf.src.label(), errFileChanged)
	}
	return nil
}
