package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cardbridge/cardbridge/engine"
)

// itemJSON is one skipped item or one error of `sync --json`
// (skipped_items, error_items): which pair and side, the item's id there
// (a vdir's file name, a CardDAV href, an Office 365 contact id), its
// display name and UID when known, and why. Errors that are not one
// item's name the trash entry or conflict they are about instead.
type itemJSON struct {
	Pair       string `json:"pair"`
	Side       string `json:"side"`
	ID         string `json:"id"`
	Name       string `json:"name"`
	UID        string `json:"uid"`
	Op         string `json:"op,omitempty"`
	TrashID    int64  `json:"trash_id,omitempty"`
	ConflictID int64  `json:"conflict_id,omitempty"`
	Reason     string `json:"reason"`
}

// skipItems lists the skipped items of res.
func skipItems(res *engine.Result) []itemJSON {
	out := make([]itemJSON, 0, len(res.Skipped))
	for _, s := range res.Skipped {
		out = append(out, itemJSON{Pair: res.Pair, Side: s.Side.String(), ID: s.ID, Name: s.Name, UID: s.UID, Reason: s.Reason})
	}
	return out
}

// errorItems lists the errors of res, each with what its type knows.
func errorItems(res *engine.Result) []itemJSON {
	out := make([]itemJSON, 0, len(res.Errors))
	for _, err := range res.Errors {
		it := itemJSON{Pair: res.Pair, Reason: err.Error()}
		var ie *engine.ItemError
		var re *engine.RestoreError
		var ce *engine.ResolutionError
		switch {
		case errors.As(err, &ie):
			it.UID, it.Name, it.Reason = ie.UID, ie.Name, fmt.Sprint(ie.Err)
			if ie.Op != engine.OpNone {
				it.Side, it.ID, it.Op = ie.Side.String(), ie.ID, ie.Op.String()
			}
		case errors.As(err, &re):
			it.TrashID, it.Reason = re.TrashID, fmt.Sprint(re.Err)
		case errors.As(err, &ce):
			it.ConflictID = ce.ConflictID
		}
		out = append(out, it)
	}
	return out
}

// syncSummaryJSON is the line of `sync --json` for res: the summary's
// documented keys (engine.Result.MarshalSummary, the runs table's form)
// followed by skipped_items and error_items, and with stamp (--every)
// the time the line was written.
func syncSummaryJSON(res *engine.Result, stamp bool) ([]byte, error) {
	line, err := res.MarshalSummary()
	if err != nil {
		return nil, err
	}
	var at string
	if stamp {
		at = time.Now().Format(time.RFC3339)
	}
	items, err := json.Marshal(struct {
		Skipped []itemJSON `json:"skipped_items"`
		Errors  []itemJSON `json:"error_items"`
		Time    string     `json:"time,omitempty"`
	}{skipItems(res), errorItems(res), at})
	if err != nil {
		return nil, err
	}
	// Both are objects: join them, the summary's keys first.
	line = bytes.TrimSuffix(line, []byte("}"))
	return append(append(line, ','), items[1:]...), nil
}
