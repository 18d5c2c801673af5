// Package o365 is the Office 365 side: Microsoft Graph contacts as a sync
// side of cardbridge. It holds the sign-in flows, the Graph client (paced
// requests, delta rounds, JSON batches, photos) and the mapping between the
// Graph contact resource and vCards.
//
// The mapping (mapping.go, documented field by field in docs/mapping.md)
// is built around one rule of the sync engine: Office 365 is the poorer
// side. ToVCard and FromVCard convert between api.Contact and vcard.Card;
// Project says which part of a card Office 365 holds, so that the engine
// keeps everything else (a fourth e-mail, fax numbers, X- properties,
// Apple labels, groups) on the vCard side and never counts its absence
// on Office 365 as a deletion. The vCard spelling of what Office 365 does
// hold (TYPE parameters, Apple item groups, the split of an address's
// street lines...) travels with the contact in a hidden extended property
// (FormatPropertyID), so a card that went to Office 365 and back is the
// card that left, byte for byte in its normalised form.
package o365
