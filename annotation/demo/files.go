package demo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// cocoCaptions is the COCO captions annotation format (captions_*.json) as
// pycocotools and pycocoevalcap read it.
type cocoCaptions struct {
	Info        cocoInfo         `json:"info"`
	Licenses    []any            `json:"licenses"`
	Type        string           `json:"type"`
	Images      []cocoImage      `json:"images"`
	Annotations []cocoAnnotation `json:"annotations"`
}

type cocoInfo struct {
	Description string `json:"description"`
	Version     string `json:"version"`
	Contributor string `json:"contributor"`
}

type cocoImage struct {
	ID       int    `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

type cocoAnnotation struct {
	ImageID int    `json:"image_id"`
	ID      int    `json:"id"`
	Caption string `json:"caption"`
}

type cocoResult struct {
	ImageID int    `json:"image_id"`
	Caption string `json:"caption"`
}

// ReferencesJSON returns the references in COCO captions annotation format:
// images[] with id, file_name, width, height and annotations[] with
// image_id, id, caption (ids numbered from 1 in image order).
func (d *Dataset) ReferencesJSON() ([]byte, error) {
	doc := cocoCaptions{
		Info: cocoInfo{
			Description: fmt.Sprintf("capeval synthetic shapes demo, seed %d", d.Seed),
			Version:     "1",
			Contributor: "capeval annotation/demo",
		},
		Licenses:    []any{},
		Type:        "captions",
		Images:      []cocoImage{},
		Annotations: []cocoAnnotation{},
	}
	id := 0
	for _, img := range d.Images {
		doc.Images = append(doc.Images, cocoImage{ID: img.ID, FileName: img.FileName, Width: img.Width, Height: img.Height})
		for _, ref := range img.References {
			id++
			doc.Annotations = append(doc.Annotations, cocoAnnotation{ImageID: img.ID, ID: id, Caption: ref})
		}
	}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return nil, fmt.Errorf("demo: encode references: %w", err)
	}
	return append(b, '\n'), nil
}

// ResultsJSON returns the captions of the captioner called name in COCO
// results format: [{"image_id", "caption"}].
func (d *Dataset) ResultsJSON(name string) ([]byte, error) {
	c := d.Captioner(name)
	if c == nil {
		return nil, fmt.Errorf("demo: no captioner %q", name)
	}
	rows := make([]cocoResult, 0, len(c.Captions))
	for _, cap := range c.Captions {
		rows = append(rows, cocoResult{ImageID: cap.ImageID, Caption: cap.Text})
	}
	b, err := json.MarshalIndent(rows, "", " ")
	if err != nil {
		return nil, fmt.Errorf("demo: encode results of %s: %w", name, err)
	}
	return append(b, '\n'), nil
}

// WriteFiles writes the dataset under dir, creating it if needed:
// images/<file_name> (PNG), references.json (COCO captions annotations) and
// results-<captioner>.json (COCO results) for each captioner.
func (d *Dataset) WriteFiles(dir string) error {
	imgDir := filepath.Join(dir, "images")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		return fmt.Errorf("demo: create %s: %w", imgDir, err)
	}
	for _, img := range d.Images {
		if err := os.WriteFile(filepath.Join(imgDir, img.FileName), img.PNG, 0o644); err != nil {
			return fmt.Errorf("demo: write image %d: %w", img.ID, err)
		}
	}
	refs, err := d.ReferencesJSON()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "references.json"), refs, 0o644); err != nil {
		return fmt.Errorf("demo: write references: %w", err)
	}
	for _, c := range d.Captioners {
		b, err := d.ResultsJSON(c.Name)
		if err != nil {
			return err
		}
		name := filepath.Join(dir, "results-"+c.Name+".json")
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return fmt.Errorf("demo: write results of %s: %w", c.Name, err)
		}
	}
	return nil
}
