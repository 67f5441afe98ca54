package annotation_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// TestImportInto: an import into a campaign named by id or name creates
// it when missing, in the import's transaction, so that a failed import
// leaves no campaign behind.
func TestImportInto(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newImpFixture(t, s) // its own campaign, t.Name(), exists
		req := annotation.ImportRequest{
			Images:     annotation.SourceFile{Path: f.images("i", "1", "2")},
			References: annotation.SourceFile{Path: f.file("refs.jsonl", "{\"image_id\": 1, \"caption\": \"a red circle\"}\n{\"image_id\": 2, \"caption\": \"a blue square\"}\n")},
		}
		// A store whose image folder is a file: every import that adds an
		// image fails after the campaign would have been created.
		blocked := t.TempDir()
		if err := os.WriteFile(filepath.Join(blocked, "images"), []byte("in the way"), 0o644); err != nil {
			t.Fatal(err)
		}
		broken := annotation.NewImporter(s, annotation.NewImageStore(blocked), modelstest.Logger(t))
		tests := []struct {
			name        string
			im          *annotation.Importer
			target      annotation.ImportTarget
			wantErr     error // nil: must succeed
			wantCreated bool
			wantMode    models.CampaignMode
		}{
			{name: "a failed import creates nothing", im: broken, target: annotation.ImportTarget{Campaign: "Broken"}, wantErr: errAny},
			{name: "a new name is created", im: f.im, target: annotation.ImportTarget{Campaign: "Fresh", Mode: models.ModePairwise},
				wantCreated: true, wantMode: models.ModePairwise},
			{name: "the same name again", im: f.im, target: annotation.ImportTarget{Campaign: "Fresh"}, wantMode: models.ModePairwise},
			{name: "by id", im: f.im, target: annotation.ImportTarget{Campaign: strconv.FormatInt(f.campaign, 10)}, wantMode: models.ModeLikert},
			{name: "another mode", im: f.im, target: annotation.ImportTarget{Campaign: t.Name(), Mode: models.ModePairwise},
				wantErr: annotation.ErrConflict},
			{name: "a bad mode creates nothing", im: f.im, target: annotation.ImportTarget{Campaign: "Odd", Mode: "ranking"},
				wantErr: annotation.ErrInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				plan, err := tt.im.Check(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				defer plan.Close()
				before := campaignNames(t, s)
				rep, err := tt.im.ImportInto(ctx, tt.target, plan)
				if tt.wantErr != nil {
					if err == nil || (tt.wantErr != errAny && !errors.Is(err, tt.wantErr)) {
						t.Fatalf("ImportInto: %v, want %v", err, tt.wantErr)
					}
					if after := campaignNames(t, s); !slices.Equal(after, before) {
						t.Errorf("campaigns %q after a failed import, want %q", after, before)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if rep.Created != tt.wantCreated || rep.Campaign.Mode != tt.wantMode {
					t.Errorf("created %v mode %s, want %v %s", rep.Created, rep.Campaign.Mode, tt.wantCreated, tt.wantMode)
				}
				keys, err := s.Images(ctx, rep.Campaign.ID, false)
				if err != nil || len(keys) != 2 {
					t.Errorf("campaign %d has %d images (%v), want 2", rep.Campaign.ID, len(keys), err)
				}
			})
		}
	})
}

// campaignNames lists the campaigns' names.
func campaignNames(t *testing.T, s *models.Store) []string {
	t.Helper()
	list, err := s.ListCampaignSummaries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	return names
}

// errAny stands for any error in a table of cases.
var errAny = errors.New("any error")
