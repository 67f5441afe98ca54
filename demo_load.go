package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

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
	// The COCO files let a newcomer try `capeval score` on the same data.
	if err := data.WriteFiles(filepath.Join(dataDir, "demo")); err != nil {
		return err
	}
	users := make([]*models.User, len(demoAccounts))
	for i, a := range demoAccounts {
		if users[i], err = server.NewUser(a.email, a.name, a.role, a.password); err != nil {
			return err
		}
	}
	keys := make([]string, len(data.Images))
	for i, img := range data.Images {
		if keys[i], err = storeImage(dataDir, img.PNG, ".png"); err != nil {
			return err
		}
	}
	err = store.InTx(ctx, func(tx *models.Store) error {
		for _, u := range users {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		camp := &models.Campaign{
			Name:        demoCampaign,
			Description: "48 synthetic images of coloured shapes, 5 references each, and 4 captioners of clearly different quality.",
			Mode:        models.ModeLikert,
			CreatedBy:   &users[1].ID,
		}
		if err := tx.CreateCampaign(ctx, camp); err != nil {
			return err
		}
		images := make([]models.Image, len(data.Images))
		for i, img := range data.Images {
			sum := sha256.Sum256(img.PNG)
			images[i] = models.Image{CampaignID: camp.ID, ExternalID: fmt.Sprint(img.ID), SHA256: hex.EncodeToString(sum[:]),
				StorageKey: keys[i], Width: img.Width, Height: img.Height, Tags: models.MustJSON(img.Tags)}
		}
		if err := tx.InsertImages(ctx, images); err != nil {
			return err
		}
		var refs []models.Reference
		imageIDs := map[int]int64{}
		for i, img := range data.Images {
			imageIDs[img.ID] = images[i].ID
			for pos, text := range img.References {
				refs = append(refs, models.Reference{ImageID: images[i].ID, Position: pos, Text: text})
			}
		}
		if err := tx.InsertReferences(ctx, refs); err != nil {
			return err
		}
		for _, c := range data.Captioners {
			capt := &models.Captioner{CampaignID: camp.ID, Name: c.Name, Version: c.Version}
			if err := tx.CreateCaptioner(ctx, capt); err != nil {
				return err
			}
			rows := make([]models.Caption, len(c.Captions))
			for i, cap := range c.Captions {
				rows[i] = models.Caption{CaptionerID: capt.ID, ImageID: imageIDs[cap.ImageID], Text: cap.Text}
			}
			if err := tx.InsertCaptions(ctx, rows); err != nil {
				return err
			}
		}
		return nil
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

// storeImage writes content under DATA_DIR/images/<sha[:2]>/<sha><ext> (content-
// addressed, so identical images are stored once) and returns the storage key.
func storeImage(dataDir string, content []byte, ext string) (string, error) {
	sum := sha256.Sum256(content)
	h := hex.EncodeToString(sum[:])
	key := filepath.Join(h[:2], h+ext)
	path := filepath.Join(dataDir, "images", key)
	if _, err := os.Stat(path); err == nil {
		return key, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("store image: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, content, 0o640); err != nil {
		return "", fmt.Errorf("store image: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("store image: %w", err)
	}
	return key, nil
}
