package crash

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DiskFullReport is what the disk-full scenario saw.
type DiskFullReport struct {
	// Contacts synced before the disk filled; Changes made on Office 365
	// while it was full.
	Contacts, Changes int
	// Code and Error are the exit code and the error line of the run on
	// the full disk.
	Code  int
	Error string
	// FilesBefore and FilesAfter count the .vcf files around that run.
	FilesBefore, FilesAfter int
	// Stray are non-.vcf files the run left in the folder.
	Stray []string
	// Converged reports that the run after space was freed converged.
	Converged bool
	// Failures are the checks that did not hold.
	Failures []string
}

// String formats the report.
func (r DiskFullReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "disk-full vdir: %d contacts, %d changes on Office 365 while the folder's file system was full\n", r.Contacts, r.Changes)
	fmt.Fprintf(&b, "  run on the full disk: exit %d: %s\n", r.Code, r.Error)
	fmt.Fprintf(&b, "  .vcf files: %d before, %d after; stray files left: %d %v\n", r.FilesBefore, r.FilesAfter, len(r.Stray), r.Stray)
	fmt.Fprintf(&b, "  after freeing space: converged %v\n", r.Converged)
	fmt.Fprintf(&b, "  failures: %d\n", len(r.Failures))
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "  FAILURE: %s\n", f)
	}
	return b.String()
}

// MountTmpfs mounts a tmpfs of size (e.g. "8m") at dir (needs root).
func MountTmpfs(dir, size string) (unmount func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mount tmpfs at %s: %w", dir, err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mount tmpfs at %s: %v: %s", dir, err, strings.TrimSpace(string(out)))
	}
	return func() { exec.Command("umount", "-l", dir).Run() }, nil
}

// fill writes path until the file system is full.
func fill(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("fill the disk: %w", err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			return fmt.Errorf("fill the disk: %w", err)
		}
	}
	// Small writes take what whole blocks could not.
	for {
		if _, err := f.Write(buf[:512]); err != nil {
			break
		}
	}
	return f.Sync()
}

// DiskFull runs the disk-full scenario: Office 365 (graphsim) ⇄ a vCard
// folder on a small tmpfs. After a first sync, contacts change on Office
// 365 and the folder's file system is filled; the sync must fail naming
// ENOSPC and the file, delete nothing, leave no partial .vcf; once the
// filler is removed, a re-run must converge.
func DiskFull(ctx context.Context, binary, work string, contacts int, size string, latency time.Duration, log io.Writer) (DiskFullReport, error) {
	var rep DiskFullReport
	vdir := filepath.Join(work, "small-fs")
	unmount, err := MountTmpfs(vdir, size)
	if err != nil {
		return rep, err
	}
	defer unmount()
	sc, err := O365Vdir(ctx, binary, work, contacts, vdir, "--latency", latency.String())
	if err != nil {
		return rep, err
	}
	defer sc.Close()
	p := sc.Pair
	p.Log = log
	model, snap, err := diskFullFirstSync(ctx, p, contacts, size)
	if err != nil {
		return rep, err
	}
	rep.Contacts = len(model)
	rng := mrand.New(mrand.NewPCG(7, 11))
	// Changes on Office 365 only: the folder must take writes.
	w := Work{Edits: max(contacts/20, 3), Creates: max(contacts/20, 3)}
	changes, err := p.mutateA(ctx, rng, model, snap, w)
	if err != nil {
		return rep, err
	}
	rep.Changes = len(changes)
	filler := filepath.Join(vdir, ".filler")
	if err := fill(filler); err != nil {
		return rep, err
	}
	rep.FilesBefore = len(snap.B)
	r, err := p.Sync(ctx, nil)
	if err != nil {
		return rep, err
	}
	checkFullDiskRun(ctx, p, vdir, r, model, &rep)
	if err := os.Remove(filler); err != nil {
		return rep, fmt.Errorf("disk-full: free the space: %w", err)
	}
	err = checkFreedRun(ctx, p, model, &rep) // rep is read after the call
	return rep, err
}

// diskFullFirstSync runs the scenario's first sync, on a disk with room,
// and returns the model of the synced contacts and the snapshot after it.
func diskFullFirstSync(ctx context.Context, p *Pair, contacts int, size string) (Model, Snapshot, error) {
	r, err := p.Sync(ctx, nil)
	if err != nil {
		return nil, Snapshot{}, err
	}
	if r.Code != 0 {
		return nil, Snapshot{}, fmt.Errorf("disk-full: the first sync failed (exit %d; is %s too small for %d contacts?): %s", r.Code, size, contacts, r.Stderr)
	}
	snap, err := p.Snapshot(ctx)
	if err != nil {
		return nil, Snapshot{}, err
	}
	model, err := p.NewModel(snap)
	if err != nil {
		return nil, Snapshot{}, err
	}
	return model, snap, nil
}

// checkFullDiskRun records in rep what run r on the full disk did and the
// checks that did not hold: it must fail naming ENOSPC and the file,
// delete no file of vdir, leave no partial file and leave Office 365 with
// the model's contacts.
func checkFullDiskRun(ctx context.Context, p *Pair, vdir string, r Run, model Model, rep *DiskFullReport) {
	rep.Code = r.Code
	rep.Error = runError(r)
	lower := strings.ToLower(rep.Error)
	if r.Code == 0 {
		rep.Failures = append(rep.Failures, "the run on a full disk ended with exit 0: "+strings.TrimSpace(r.Stdout))
	}
	if !strings.Contains(lower, "no space left on device") {
		rep.Failures = append(rep.Failures, "no error says \"no space left on device\": "+rep.Error)
	}
	for _, e := range strings.Split(rep.Error, "; ") {
		if strings.Contains(strings.ToLower(e), "no space left") && !strings.Contains(e, ".vcf") {
			rep.Failures = append(rep.Failures, "an ENOSPC error does not name the file: "+e)
		}
	}
	vs := &VdirSide{Dir: vdir}
	after, err := vs.List(ctx)
	if err != nil {
		rep.Failures = append(rep.Failures, "after the full-disk run: "+err.Error())
	}
	rep.FilesAfter = len(after)
	if rep.FilesAfter < rep.FilesBefore {
		rep.Failures = append(rep.Failures, fmt.Sprintf("files were deleted: %d before, %d after", rep.FilesBefore, rep.FilesAfter))
	}
	stray, _ := vs.Stray()
	for _, s := range stray {
		if s != ".filler" && s != "lost+found" {
			rep.Stray = append(rep.Stray, s)
		}
	}
	if len(rep.Stray) > 0 {
		rep.Failures = append(rep.Failures, fmt.Sprintf("partial files left: %v", rep.Stray))
	}
	if a, err := p.A.List(ctx); err != nil || len(a) != len(model) {
		rep.Failures = append(rep.Failures, fmt.Sprintf("Office 365 holds %d contacts after the full-disk run, want %d (%v)", len(a), len(model), err))
	}
}

// checkFreedRun runs the sync after the space was freed and records in rep
// whether it converged to model.
func checkFreedRun(ctx context.Context, p *Pair, model Model, rep *DiskFullReport) error {
	r, err := p.Sync(ctx, nil)
	if err != nil {
		return err
	}
	if r.Code != 0 {
		rep.Failures = append(rep.Failures, fmt.Sprintf("the run after freeing space failed (exit %d): %s", r.Code, r.Stderr))
		return nil
	}
	snap, err := p.Snapshot(ctx)
	if err != nil {
		return err
	}
	if probs := p.Check(model, snap); len(probs) > 0 {
		rep.Failures = append(rep.Failures, "not converged after freeing space:\n"+firstLines(probs, 30))
		return nil
	}
	rep.Converged = true
	return nil
}

// mutateA makes w's edits and creates on side A only.
func (p *Pair) mutateA(ctx context.Context, rng *mrand.Rand, m Model, s Snapshot, w Work) ([]change, error) {
	ia, _ := byUID(s.A)
	var out []change
	k := 0
	for u, it := range ia {
		if k >= w.Edits {
			break
		}
		if _, ok := m[u]; !ok {
			continue
		}
		t := fmt.Sprintf("edited while full %d", k)
		if err := p.A.SetTitle(ctx, it, t); err != nil {
			return out, err
		}
		m[u] = want{title: t, key: m[u].key}
		out = append(out, change{"edit", true, u, t})
		k++
	}
	for k := range w.Creates {
		c := NewContact(rng, fmt.Sprintf("full-%d-%08x", k, rng.Uint32()), fmt.Sprintf("Full %d", k))
		uid, err := p.A.Create(ctx, c)
		if err != nil {
			return out, err
		}
		m[uid] = want{title: title(c), key: dupKey(c)}
		out = append(out, change{"create", true, uid, title(c)})
	}
	return out, nil
}
