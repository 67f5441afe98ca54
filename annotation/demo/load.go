package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"

	"capeval/annotation"
	"capeval/models"
)

// Account is one of the demo's logins.
type Account struct {
	Email, Name, Role, Password string
}

// Accounts are the demo's logins, printed by `make run` and listed in
// README. They exist only in a database the demo was loaded into; their
// passwords are public, so nothing but a demo may accept them.
var Accounts = []Account{
	{"admin@demo.capeval.test", "Demo Admin", "admin", "demo-admin-pass"},
	{"lead@demo.capeval.test", "Demo Lead", "lead", "demo-lead-pass"},
	{"ann1@demo.capeval.test", "Annotator One", "annotator", "demo-annotator-1"},
	{"ann2@demo.capeval.test", "Annotator Two", "annotator", "demo-annotator-2"},
}

// CampaignName is the name of the demo campaign.
const CampaignName = "Demo: coloured shapes"

// LoadOptions are what Load needs besides the database.
type LoadOptions struct {
	// Images is the image store the campaign's images go into.
	Images *annotation.ImageStore
	// FilesDir is where the demo's input files are written (DATA_DIR/demo):
	// they stay, so that a newcomer can try `capeval score` and `capeval
	// import` on the same data.
	FilesDir string
	// NewUser builds an account row with its password hashed: the
	// accounts' own rules apply to the demo's accounts too.
	NewUser func(email, name, role, password string) (*models.User, error)
	Log     *slog.Logger
}

// Status is what Load found or did.
type Status int

const (
	// Loaded: the database was empty and holds the demo now.
	Loaded Status = iota
	// Present: the demo was loaded before; nothing changed.
	Present
	// Skipped: the database has accounts of its own; nothing changed.
	Skipped
)

// Load fills an empty database with the demo accounts and campaign, all in
// one transaction: all of the demo or none of it. A database that has any
// account already is left as it is.
func Load(ctx context.Context, store *models.Store, opts LoadOptions) (Status, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n, err := store.CountUsers(ctx)
	if err != nil {
		return 0, fmt.Errorf("demo: %w", err)
	}
	if n > 0 {
		_, err := store.UserByEmail(ctx, Accounts[0].Email)
		switch {
		case err == nil:
			return Present, nil
		case errors.Is(err, models.ErrNotFound):
			log.Info("demo not loaded: the database has accounts already")
			return Skipped, nil
		}
		return 0, fmt.Errorf("demo: %w", err)
	}
	users := make([]*models.User, len(Accounts))
	for i, a := range Accounts {
		if users[i], err = opts.NewUser(a.Email, a.Name, a.Role, a.Password); err != nil {
			return 0, fmt.Errorf("demo: account %s: %w", a.Email, err)
		}
	}
	// The demo takes the path of a real campaign: files in the COCO formats,
	// imported by the importer.
	data := Generate(DefaultSeed)
	if err := data.WriteFiles(opts.FilesDir); err != nil {
		return 0, err
	}
	req := data.importRequest(opts.FilesDir)
	err = store.InTx(ctx, func(tx *models.Store) error {
		for _, u := range users {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		// Created by the lead through the campaign service: default rubric,
		// audit entry, as any campaign.
		camp, err := annotation.NewCampaigns(tx, log).Create(ctx, users[1].ID, annotation.NewCampaign{
			Name:        CampaignName,
			Description: "48 synthetic images of coloured shapes, 5 references each, and 4 captioners of clearly different quality.",
			Mode:        models.ModeLikert,
		})
		if err != nil {
			return err
		}
		_, err = annotation.NewImporter(tx, opts.Images, log).Import(ctx, camp.ID, req)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("demo: %w", err)
	}
	log.Info("demo loaded", "campaign", CampaignName, "images", len(data.Images), "captioners", len(data.Captioners))
	return Loaded, nil
}

// importRequest imports the files WriteFiles wrote under dir, with each
// image's tags.
func (d *Dataset) importRequest(dir string) annotation.ImportRequest {
	req := annotation.ImportRequest{
		Images:     annotation.SourceFile{Path: filepath.Join(dir, "images")},
		References: annotation.SourceFile{Path: filepath.Join(dir, "references.json")},
		Tags:       map[string][]string{},
	}
	for _, img := range d.Images {
		req.Tags[strconv.Itoa(img.ID)] = img.Tags
	}
	for _, c := range d.Captioners {
		req.Results = append(req.Results, annotation.ResultsFile{
			SourceFile: annotation.SourceFile{Path: filepath.Join(dir, "results-"+c.Name+".json")},
			Captioner:  c.Name, Version: c.Version})
	}
	return req
}
