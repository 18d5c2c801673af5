package graphsim

import (
	"net/url"
	"testing"
)

// TestCloudGraphResource: tokens do not cross clouds. The China cloud's
// token endpoint grants scopes of its own Graph resource
// (https://microsoftgraph.chinacloudapi.cn/) and refuses the global one;
// the global cloud the other way round.
func TestCloudGraphResource(t *testing.T) {
	for _, tc := range []struct {
		cloud    NationalCloud
		resource string
		want     int
	}{
		{CloudGlobal, GraphResource, 200},
		{CloudGlobal, ChinaGraphResource, 400},
		{CloudChina, ChinaGraphResource, 200},
		{CloudChina, GraphResource, 400},
	} {
		t.Run(string(tc.cloud)+" "+tc.resource, func(t *testing.T) {
			e := newEnv(t, Options{Cloud: tc.cloud})
			r := e.form("/contoso.example/oauth2/v2.0/token", url.Values{"client_id": {"conf"}, "grant_type": {"client_credentials"},
				"scope": {tc.resource + ".default"}, "client_secret": {"s3cret"}})
			if r.status != tc.want {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.want)
			}
			if tc.want == 200 && r.json(t)["scope"] != tc.resource+".default" {
				t.Fatalf("granted scope %v", r.json(t)["scope"])
			}
			if tc.want != 200 {
				if c, _ := r.aad(t); c != "invalid_scope" {
					t.Fatalf("error %s: %s", c, r.body)
				}
			}
		})
	}
}
