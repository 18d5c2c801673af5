package main

import "github.com/cardbridge/cardbridge/pairs"

// accountJSON is one account of `accounts --json`: never a token, only
// what `accounts` shows.
type accountJSON struct {
	Name       string `json:"name"`
	User       string `json:"user"`
	Tenant     string `json:"tenant"`
	Flow       string `json:"flow"`
	SignedIn   bool   `json:"signed_in"`
	Refresh    bool   `json:"refreshable"`
	Expiry     string `json:"token_expiry,omitempty"`
	LastSync   string `json:"last_sync,omitempty"`
	Configured bool   `json:"configured"`
	Owner      string `json:"owner,omitempty"` // the server user who connected it on the web page
}

func accountsJSON(infos []pairs.AccountInfo) []accountJSON {
	out := make([]accountJSON, 0, len(infos))
	for _, in := range infos {
		j := accountJSON{Name: in.Account.Name, User: in.Account.User, Tenant: in.Account.Tenant, Flow: in.Account.Flow,
			SignedIn: in.HasToken, Configured: in.Configured, Owner: in.Owner}
		if in.HasToken {
			if in.Token.User != "" {
				j.User = in.Token.User
			}
			j.Refresh, j.Expiry, j.LastSync = in.Token.HasRefreshToken, jsonTime(in.Token.Expiry), jsonTime(in.Token.LastSync)
		}
		out = append(out, j)
	}
	return out
}
