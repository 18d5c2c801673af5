package auth

import (
	"sort"
	"strings"
)

// hints is the one-line advice for each AADSTS code a user of cardbridge
// can meet: which configuration key or which setting of the app
// registration (in the Microsoft Entra admin center) to change. The same
// table is printed in docs/office365.md ("Troubleshooting"); keep them in
// step. It is read-only.
var hints = map[string]string{
	"AADSTS50059":   "the app registration is single-tenant: set tenant to the Directory (tenant) ID or a domain from the app registration's Overview page (organizations and common work only for multitenant apps; client-secret and client-certificate always need the tenant id or domain)",
	"AADSTS50194":   "the app registration is single-tenant: set tenant to the Directory (tenant) ID or a domain from its Overview page, or make the app multitenant (Authentication > Supported account types)",
	"AADSTS700016":  "no app with this client_id in that directory: check client_id (Application (client) ID on the Overview page) and tenant (the Directory (tenant) ID of the tenant where the app is registered; consumers only for apps that allow personal Microsoft accounts)",
	"AADSTS9002331": "the app registration accepts personal Microsoft accounts only: set tenant to consumers",
	"AADSTS7000218": "the app is not a public client: turn on \"Allow public client flows\" (Authentication > Advanced settings) for flow device or browser, or use flow client-secret or client-certificate",
	"AADSTS50011":   "register the redirect URI named in the message under Authentication (browser login: http://localhost under \"Mobile and desktop applications\"; serve's Connect Office 365: server.public_url + /ui/connect/callback)",
	"AADSTS50020":   "the account that signed in is not in the app's tenant: sign in with an account of that tenant (or invite it as a guest), set tenant to consumers for a personal account with an app that allows them, or make the app multitenant",
	"AADSTS65001":   "consent is missing: an administrator grants it under API permissions > \"Grant admin consent for <tenant>\" (application permission Contacts.ReadWrite for the app-only flows), or sign in again and accept",
	"AADSTS50076":   "multi-factor authentication is required: sign in again interactively (cardbridge login, or Connect Office 365 on the web page); unattended syncs can use flow client-secret or client-certificate",
	"AADSTS53003":   "a Conditional Access policy blocked the sign-in: an administrator finds the policy in the Entra sign-in logs and allows the app (or use an app-only flow it does not cover)",
	"AADSTS700082":  "the refresh token expired after 90 days without use: sign in again (cardbridge login, or Connect Office 365 on the web page); a sync at least monthly keeps it alive",
	"AADSTS70043":   "a Conditional Access sign-in frequency policy ended the sign-in: sign in again; for unattended syncs use flow client-secret or client-certificate, or ask an administrator to exclude the app from the policy",
	"AADSTS50126":   "wrong user name or password at Microsoft's sign-in page: sign in again with the right ones",
	"AADSTS90002":   "the tenant does not exist in this cloud: check tenant (Directory (tenant) ID or a verified domain) and cloud (global, usgov, usgov-dod, china)",
	"AADSTS7000215": "the client secret is wrong or expired: put the secret's Value (not its Secret ID) from Certificates & secrets in client_secret_env or client_secret_file",
	"AADSTS700027":  "the certificate is not the app's: upload it under Certificates & secrets > Certificates, and put that certificate with its private key in certificate_file",
	"AADSTS700024":  "the client assertion's time is off: check this machine's clock",
	"AADSTS65004":   "the user declined consent: sign in again and accept",
	"AADSTS50034":   "the user does not exist in this tenant: check user (app-only flows) or the account you sign in with, and tenant",
	"AADSTS70011":   "the app registration does not offer the scopes asked: check cloud, and that Microsoft Graph Contacts.ReadWrite is under API permissions",
}

// Hint returns the one-line advice for an AADSTS code ("AADSTS50059" or
// "50059"); "" when there is none.
func Hint(aadsts string) string {
	c := strings.TrimSpace(aadsts)
	if !strings.HasPrefix(strings.ToUpper(c), "AADSTS") {
		c = "AADSTS" + c
	}
	return hints[strings.ToUpper(c[:6])+c[6:]]
}

// HintCodes lists the AADSTS codes that have a hint, in order.
func HintCodes() []string {
	out := make([]string, 0, len(hints))
	for c := range hints {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
