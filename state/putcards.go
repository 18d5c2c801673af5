package state

import (
	"context"
	"errors"
	"fmt"
)

// CardPut is one write of PutCards: what PutCard takes for one card.
type CardPut struct {
	Href, UID string
	Data      []byte
	Pre       Precondition
}

// CardPutResult is the outcome of one CardPut: its new etag and whether the
// card is new, or the error PutCard would have given for it.
type CardPutResult struct {
	ETag    string
	Created bool
	Err     error
}

// PutCards stores several cards of book bookID in one transaction, each as
// PutCard would (its precondition, its UID check, its change and index
// row), so that a batch of writes costs one commit rather than one each. A
// put that fails its checks (ErrNotFound, ErrPreconditionFailed,
// ErrReadOnly, ErrUIDConflict, wrapped, as PutCard) gets that error in its
// result and writes nothing; the others are written. Any other error (the
// database's) rolls every put back and is returned; the results are then
// nil. Nothing is visible, nor durable, before PutCards returns.
func (db *DB) PutCards(ctx context.Context, bookID int64, puts []CardPut) ([]CardPutResult, error) {
	res := make([]CardPutResult, len(puts))
	ixs := make([]cardIndex, len(puts))
	for i := range puts {
		if puts[i].Href == "" {
			res[i].Err = fmt.Errorf("state: put card of book %d: empty href", bookID)
			continue
		}
		if puts[i].Data == nil {
			puts[i].Data = []byte{}
		}
		ixs[i] = indexCard(puts[i].Href, puts[i].Data) // parsed outside the transaction
	}
	op := fmt.Sprintf("put %d cards of book %d", len(puts), bookID)
	err := db.serverTx(ctx, op, func(sqlTx *sqlTx) error {
		wrote := false
		for i, p := range puts {
			if p.Href == "" {
				continue
			}
			r := &res[i]
			r.ETag, r.Created, r.Err = db.putCardTx(ctx, sqlTx, bookID, p.Href, p.UID, p.Data, ixs[i], p.Pre,
				fmt.Sprintf("put card %s of book %d", p.Href, bookID))
			if r.Err != nil && !checkFailure(r.Err) {
				return r.Err
			}
			wrote = wrote || r.Err == nil
		}
		if !wrote {
			return nil
		}
		// One announcement of the book's change for the batch (PostgreSQL).
		if err := db.notifyBook(ctx, sqlTx, bookID); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// checkFailure tells the errors of putCardTx's checks, which write nothing
// and leave the transaction usable, from the database's.
func checkFailure(err error) bool {
	return errors.Is(err, ErrPreconditionFailed) || errors.Is(err, ErrUIDConflict) ||
		errors.Is(err, ErrReadOnly) || errors.Is(err, ErrNotFound)
}
