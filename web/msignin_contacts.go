package web

import (
	"context"
	"strings"

	"golang.org/x/oauth2"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/auth"
)

// What a sign-in with server.microsoft_sign_in.contacts did with the
// contacts: the landing page's contacts parameter, which its flash says.
const (
	// contactsGranted: the tokens are the user's web connection now.
	contactsGranted = "granted"
	// contactsRefused: Microsoft granted fewer scopes than asked (no
	// Contacts.ReadWrite, User.Read or refresh token); nothing stored.
	contactsRefused = "refused"
	// contactsKept: the user has a connection made with "Connect Office
	// 365", which the sign-in does not replace.
	contactsKept = "kept"
	// contactsFailed: the tokens could not be stored (the log says why).
	contactsFailed = "failed"
)

// contactsFlash is the dashboard's line for a landing's contacts
// parameter; "" for none or an unknown one.
func contactsFlash(v string) string {
	switch v {
	case contactsGranted:
		return "Signed in with Microsoft, with access to your Office 365 contacts: create the pair below to sync them with a new address book."
	case contactsRefused:
		return "Signed in with Microsoft, but Microsoft did not grant access to your contacts (Contacts.ReadWrite): nothing was connected. Your administrator can consent to the permission for the organisation; then sign in again."
	case contactsKept:
		return "Signed in with Microsoft; your existing Office 365 connection is kept."
	case contactsFailed:
		return "Signed in with Microsoft, but your Office 365 contacts could not be connected; the server's log says why. Try signing in again later."
	}
	return ""
}

// grantedScope reports whether the token answer's space-separated scope
// list holds want, with or without a resource prefix, in any case.
func grantedScope(scope, want string) bool {
	for _, s := range strings.Fields(scope) {
		if i := strings.LastIndex(s, "/"); i >= 0 {
			s = s[i+1:]
		}
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

// keepContacts stores the tokens of a sign-in that asked for the contacts
// as user's web connection (sealed, under AccountName like "Connect Office
// 365"), so that the dashboard's one "Create the pair" makes "their Office
// 365 contacts ⇄ a new address book" without another round trip to
// Microsoft. It returns what it did (contactsGranted...); the sign-in goes
// on whatever it returns.
func (h *Handler) keepContacts(ctx context.Context, ms config.MicrosoftSignIn, user string, cl idClaims, tok *oauth2.Token) string {
	scope, _ := tok.Extra("scope").(string)
	if !grantedScope(scope, "Contacts.ReadWrite") || !grantedScope(scope, "User.Read") || tok.RefreshToken == "" {
		h.log.Info("web: Microsoft sign-in without the contacts", "user", user, "granted", scope, "refresh_token", tok.RefreshToken != "")
		return contactsRefused
	}
	account := AccountName(user)
	if _, taken := h.o.Config.Account(account); taken {
		h.log.Warn("web: a configured account has the name of the user's web connection; the sign-in's tokens are not stored", "user", user, "account", account)
		return contactsFailed
	}
	if t, ok, err := h.connection(ctx, user); err != nil {
		h.log.Warn("web: reading the Office 365 connection", "user", user, "err", err)
		return contactsFailed
	} else if ok && !strings.EqualFold(t.ClientID, ms.ClientID) {
		return contactsKept
	}
	acc := ms.Account(account, cl.TenantID)
	ep, err := auth.EndpointsFor(acc)
	if err != nil {
		h.log.Warn("web: the sign-in app's endpoints", "err", err)
		return contactsFailed
	}
	// The account becomes the user's before any token is stored under it.
	if err := h.o.DB.ClaimWebAccount(ctx, account, user); err != nil {
		h.log.Warn("web: claiming the web account", "user", user, "account", account, "err", err)
		return contactsFailed
	}
	t := auth.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry, User: cl.UPN,
		Tenant: cl.TenantID, Flow: auth.FlowBrowser, ClientID: ms.ClientID, Scopes: ep.ContactScopes()}
	if err := (auth.StateStore{DB: h.o.DB}).SaveToken(ctx, account, t); err != nil {
		h.log.Warn("web: storing the sign-in's tokens", "user", user, "account", account, "err", err)
		return contactsFailed
	}
	h.log.Info("web: Office 365 connected by the Microsoft sign-in", "user", user, "account", account, "as", cl.UPN)
	return contactsGranted
}
