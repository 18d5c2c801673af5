package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/state"
)

// Token is what is stored of an account.
type Token struct {
	// AccessToken is the bearer token for Graph.
	AccessToken string
	// RefreshToken is the delegated flows' refresh token; "" for app-only.
	RefreshToken string
	// Expiry is when AccessToken expires.
	Expiry time.Time
	// User is the signed-in user (delegated) or the configured mailbox
	// (app-only).
	User string
	// Tenant, Flow and ClientID are the configured tenant, the flow and the
	// client id the token was obtained with: a token that no longer matches
	// the configuration is not used. (Tenant is the configured one, e.g.
	// organizations, not the tenant id; Identity has that.)
	Tenant, Flow, ClientID string
	// Scopes are the scopes the token was requested with.
	Scopes []string
}

// Store keeps an account's tokens (the state database implements it through
// StateStore). Implementations must be safe for concurrent use.
type Store interface {
	// LoadToken returns the account's token; false when there is none.
	LoadToken(ctx context.Context, account string) (Token, bool, error)
	// SaveToken stores t durably before returning.
	SaveToken(ctx context.Context, account string, t Token) error
	// DeleteToken forgets the account's token.
	DeleteToken(ctx context.Context, account string) error
}

// StateStore is the Store of the state database.
type StateStore struct {
	// DB is the open state database.
	DB *state.DB
}

// LoadToken implements Store.
func (s StateStore) LoadToken(ctx context.Context, account string) (Token, bool, error) {
	at, ok, err := s.DB.LoadToken(ctx, account)
	if err != nil || !ok {
		return Token{}, ok, err
	}
	return Token{AccessToken: at.AccessToken, RefreshToken: at.RefreshToken, Expiry: at.Expiry,
		User: at.User, Tenant: at.Tenant, Flow: at.Flow, ClientID: at.ClientID, Scopes: at.Scopes}, true, nil
}

// SaveToken implements Store.
func (s StateStore) SaveToken(ctx context.Context, account string, t Token) error {
	return s.DB.SaveToken(ctx, account, state.AccountToken{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
		Expiry: t.Expiry, User: t.User, Tenant: t.Tenant, Flow: t.Flow, ClientID: t.ClientID, Scopes: t.Scopes})
}

// DeleteToken implements Store.
func (s StateStore) DeleteToken(ctx context.Context, account string) error {
	return s.DB.DeleteToken(ctx, account)
}

// Identity is who signed in, for display.
type Identity struct {
	// User is the user's sign-in name (preferred_username or upn).
	User string
	// Tenant is the tenant id (tid).
	Tenant string
}

// identityFrom reads the user and tenant from the claims of the id_token,
// else of the access token (when it is a JWT). Nothing is verified: it is for
// display only.
func identityFrom(jwts ...string) Identity {
	var id Identity
	for _, tok := range jwts {
		c := jwtClaims(tok)
		if c == nil {
			continue
		}
		if id.User == "" {
			for _, k := range []string{"preferred_username", "upn", "unique_name", "email"} {
				if v, _ := c[k].(string); v != "" {
					id.User = v
					break
				}
			}
		}
		if id.Tenant == "" {
			id.Tenant, _ = c["tid"].(string)
		}
	}
	return id
}

// jwtClaims decodes the payload of a JWT without verifying it; nil when tok
// is not one.
func jwtClaims(tok string) map[string]any {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var c map[string]any
	if json.Unmarshal(b, &c) != nil {
		return nil
	}
	return c
}
