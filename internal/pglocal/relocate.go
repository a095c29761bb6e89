package pglocal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// relocatedParentName is the folder, in the cluster user's home (or the temp
// dir), that holds the clusters of data dirs that user cannot reach.
const relocatedParentName = "pglocal-clusters"

// resolveDataDir returns where the cluster of dataDir lives: dataDir itself,
// or, when the server's OS user cannot reach it and opts.Relocate is set, a
// directory of that user's named after dataDir's path, which a symlink at
// dataDir points to so later runs (and people) find it.
func (r *runner) resolveDataDir(ctx context.Context, dataDir string, log *slog.Logger) (string, error) {
	if r.cred == nil {
		return dataDir, nil
	}
	for {
		if target, err := os.Readlink(dataDir); err == nil {
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(dataDir), target)
			}
			return target, nil
		}
		if r.checkReachable(dataDir) == nil || !emptyOrMissing(dataDir) {
			return dataDir, nil // prepareDataDir says what is wrong, if anything
		}
		dir, err := r.relocatedDir(dataDir)
		if err != nil {
			return "", err
		}
		// An earlier run that failed to reach dataDir may have left it empty.
		if err := os.Remove(dataDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("pglocal: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(dataDir), 0o700); err != nil {
			return "", fmt.Errorf("pglocal: creating parent of data dir: %w", err)
		}
		err = os.Symlink(dir, dataDir)
		if errors.Is(err, fs.ErrExist) {
			continue // another process linked it just now
		}
		if err != nil {
			return "", fmt.Errorf("pglocal: linking data dir to the cluster: %w", err)
		}
		if err := r.removeOrphan(ctx, dir, dataDir, log); err != nil {
			_ = os.Remove(dataDir)
			return "", err
		}
		log.Info("the cluster's OS user cannot reach the data dir; keeping the cluster in its own folder",
			"datadir", dataDir, "cluster", dir, "as", r.username)
		return dir, nil
	}
}

// removeOrphan deletes a cluster left at dir by an earlier data dir at the
// same path that has since been deleted (its link with it): whoever deleted
// the data dir meant to start afresh.
func (r *runner) removeOrphan(ctx context.Context, dir, dataDir string, log *slog.Logger) error {
	if emptyOrMissing(dir) {
		return nil
	}
	out, err := r.output(ctx, "pg_ctl", "status", "-D", dir)
	var ee *exec.ExitError
	if err == nil || !errors.As(err, &ee) || ee.ExitCode() != 3 {
		return fmt.Errorf("pglocal: %s holds the cluster of an earlier %s and a server may still run on it; stop it (pg_ctl stop -D %s) or remove it: %v\n%s",
			dir, dataDir, dir, err, out)
	}
	log.Warn("removing the cluster of an earlier data dir at this path, which was deleted", "cluster", dir)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("pglocal: removing the cluster of a deleted data dir: %w", err)
	}
	return nil
}

// relocatedDir names dataDir's cluster in a folder of the cluster's user: a
// short hash of the path keeps two checkouts from sharing a cluster.
func (r *runner) relocatedDir(dataDir string) (string, error) {
	sum := sha256.Sum256([]byte(dataDir))
	name := hex.EncodeToString(sum[:])[:12]
	var errs []error
	for _, parent := range r.relocatedParents() {
		err := r.ensurePrivateDir(parent)
		if err == nil {
			return filepath.Join(parent, name), nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("pglocal: the %s user cannot reach data dir %s, and no folder of its own could hold the cluster instead: %w",
		r.username, dataDir, errors.Join(errs...))
}

// relocatedParents lists, best first, folders that would hold relocated
// clusters: the user's home keeps them across reboots, the temp dir may not.
func (r *runner) relocatedParents() []string {
	var parents []string
	if r.home != "" && r.home != "/" {
		parents = append(parents, filepath.Join(r.home, relocatedParentName))
	}
	return append(parents, filepath.Join(os.TempDir(), relocatedParentName+"-"+r.username))
}

// ensurePrivateDir makes dir a 0700 folder of the cluster's user, or checks
// that it already is one owned by that user or root (in a shared temp dir,
// someone else could have planted a folder or a symlink under that name).
func (r *runner) ensurePrivateDir(dir string) error {
	if err := r.checkReachable(dir); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return fmt.Errorf("pglocal: %w", err)
		}
		return r.own(dir, 0o700)
	}
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || (int(st.Uid) != r.uid && st.Uid != 0) || fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("pglocal: %s is not a private folder of %s or root", dir, r.username)
	}
	return nil
}

// emptyOrMissing reports whether path does not exist or is an empty folder.
func emptyOrMissing(path string) bool {
	entries, err := os.ReadDir(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return err == nil && len(entries) == 0
}
