package config

import (
	"strings"
	"testing"
)

// TestServerConnect: server.connect decodes with its defaults, comes from
// the environment too, and bad values are refused naming the key.
func TestServerConnect(t *testing.T) {
	p := writeConfig(t, "server:\n  public_url: https://dav.example.com\n  connect:\n    client_id: 11111111-2222-3333-4444-555555555555\n    tenant: fabrikam.com\n    login_url: http://127.0.0.1:9999\n")
	cfg, err := Load(p, true, []string{"HOME=" + home})
	if err != nil {
		t.Fatal(err)
	}
	want := Connect{ClientID: "11111111-2222-3333-4444-555555555555", Tenant: "fabrikam.com", Cloud: "global", LoginURL: "http://127.0.0.1:9999"}
	if cfg.Server.Connect != want || !cfg.Server.Connect.Configured() {
		t.Fatalf("connect = %+v, want %+v", cfg.Server.Connect, want)
	}
	acc := cfg.Server.Connect.Account("web-alice")
	if acc.Name != "web-alice" || acc.Flow != "browser" || acc.ClientID != want.ClientID || acc.LoginURL != want.LoginURL || acc.Tenant != "fabrikam.com" {
		t.Fatalf("account = %+v", acc)
	}

	cfg, err = Load(writeConfig(t, "state: /tmp/x.db\n"), true, []string{"HOME=" + home,
		"CARDBRIDGE_SERVER_CONNECT_CLIENT_ID=11111111-2222-3333-4444-555555555555", "CARDBRIDGE_SERVER_CONNECT_TENANT=contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Server.Connect; c.ClientID != want.ClientID || c.Tenant != "contoso.example" {
		t.Fatalf("connect from env = %+v", c)
	}
	if cfg, _ := Load(writeConfig(t, "state: /tmp/x.db\n"), true, []string{"HOME=" + home}); cfg.Server.Connect.Configured() {
		t.Fatal("connect configured without server.connect")
	}

	bad := writeConfig(t, "server:\n  connect:\n    client_id: nope\n    cloud: mars\n    graph_url: http://graph.example.com/v1.0\n    colour: red\n")
	_, err = Load(bad, true, []string{"HOME=" + home})
	got := map[string]string{}
	for _, pr := range problems(t, err) {
		got[pr.Key] = pr.Msg
	}
	for key, frag := range map[string]string{
		"server.connect.client_id": "is not a GUID",
		"server.connect.cloud":     "is not one of",
		"server.connect.graph_url": "must use https",
		"server.connect.colour":    "unknown key",
	} {
		if !strings.Contains(got[key], frag) {
			t.Errorf("%s: got %q, want it to contain %q (all: %v)", key, got[key], frag, got)
		}
	}
	_, err = Load(writeConfig(t, "server:\n  connect:\n    client_id: 11111111-2222-3333-4444-555555555555\n"), true, []string{"HOME=" + home})
	if ps := problems(t, err); len(ps) != 1 || ps[0].Key != "server.connect.tenant" || !strings.HasPrefix(ps[0].Msg, "required: the Directory (tenant) ID") {
		t.Fatalf("missing tenant: %v", ps)
	}
	_, err = Load(writeConfig(t, "server:\n  connect:\n    tenant: contoso.example\n"), true, []string{"HOME=" + home})
	if ps := problems(t, err); len(ps) != 1 || ps[0].Key != "server.connect.client_id" || !strings.Contains(ps[0].Msg, "required") {
		t.Fatalf("missing client_id: %v", ps)
	}
}
