package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"

	"capeval/annotation"
	"capeval/annotation/demo"
	"capeval/models"
	"capeval/server"
)

// demoAccounts are the demo's logins, printed by `make run` and listed in
// README. They exist only in a database the demo was loaded into.
var demoAccounts = []struct{ email, name, role, password string }{
	{"admin@demo.capeval.test", "Demo Admin", "admin", "demo-admin-pass"},
	{"lead@demo.capeval.test", "Demo Lead", "lead", "demo-lead-pass"},
	{"ann1@demo.capeval.test", "Annotator One", "annotator", "demo-annotator-1"},
	{"ann2@demo.capeval.test", "Annotator Two", "annotator", "demo-annotator-2"},
}

const demoCampaign = "Demo: coloured shapes"

// loadDemo fills an empty database with the demo accounts and campaign, all
// in one transaction, and prints the credentials. A database that has any
// account already is left as it is.
func loadDemo(ctx context.Context, store *models.Store, dataDir string, log *slog.Logger, stdout io.Writer) error {
	n, err := store.CountUsers(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		if _, err := store.UserByEmail(ctx, demoAccounts[0].email); err == nil {
			printDemoAccounts(stdout)
		} else if !errors.Is(err, models.ErrNotFound) {
			return err
		} else {
			log.Info("demo not loaded: the database has accounts already")
		}
		return nil
	}
	data := demo.Generate(demo.DefaultSeed)
	// The demo takes the path of a real campaign: files in the COCO formats,
	// imported by the importer. The files stay, so that a newcomer can try
	// `capeval score` and `capeval import` on the same data.
	dir := filepath.Join(dataDir, "demo")
	if err := data.WriteFiles(dir); err != nil {
		return err
	}
	req := annotation.ImportRequest{
		Images:     annotation.SourceFile{Path: filepath.Join(dir, "images")},
		References: annotation.SourceFile{Path: filepath.Join(dir, "references.json")},
		Tags:       map[string][]string{},
	}
	for _, img := range data.Images {
		req.Tags[strconv.Itoa(img.ID)] = img.Tags
	}
	for _, c := range data.Captioners {
		req.Results = append(req.Results, annotation.ResultsFile{
			SourceFile: annotation.SourceFile{Path: filepath.Join(dir, "results-"+c.Name+".json")},
			Captioner:  c.Name, Version: c.Version})
	}
	users := make([]*models.User, len(demoAccounts))
	for i, a := range demoAccounts {
		if users[i], err = server.NewUser(a.email, a.name, a.role, a.password); err != nil {
			return err
		}
	}
	// Accounts, campaign and import in one transaction: all of the demo or
	// none of it.
	err = store.InTx(ctx, func(tx *models.Store) error {
		for _, u := range users {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		// Created by the lead through the campaign service: default rubric,
		// audit entry, as any campaign.
		camp, err := annotation.NewCampaigns(tx, log).Create(ctx, users[1].ID, annotation.NewCampaign{
			Name:        demoCampaign,
			Description: "48 synthetic images of coloured shapes, 5 references each, and 4 captioners of clearly different quality.",
			Mode:        models.ModeLikert,
		})
		if err != nil {
			return err
		}
		_, err = annotation.NewImporter(tx, annotation.NewImageStore(dataDir), log).Import(ctx, camp.ID, req)
		return err
	})
	if err != nil {
		return err
	}
	log.Info("demo loaded", "campaign", demoCampaign, "images", len(data.Images), "captioners", len(data.Captioners))
	printDemoAccounts(stdout)
	return nil
}

func printDemoAccounts(w io.Writer) {
	fmt.Fprintln(w, "demo accounts (email / password):")
	for _, a := range demoAccounts {
		fmt.Fprintf(w, "  %-10s %-26s %s\n", a.role, a.email, a.password)
	}
}
