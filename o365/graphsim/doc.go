// Package graphsim is a faithful, in-process simulator of the parts of
// Microsoft Graph (v1.0 contacts) and the Microsoft identity platform
// (OAuth2 v2.0) that cardbridge uses. It exists so the real Graph client
// can be tested, benchmarked and demonstrated without Microsoft's servers.
//
// One [Server] (an [http.Handler]) serves both hosts:
//
//   - the login host: /{tenant}/oauth2/v2.0/token (grants authorization_code
//     with PKCE, refresh_token with rotation, device_code, client_credentials
//     with a client secret or a certificate-signed client assertion),
//     /{tenant}/oauth2/v2.0/devicecode, /{tenant}/oauth2/v2.0/authorize (an
//     HTML consent page, or an immediate redirect with Options.AutoApprove
//     and login_hint) and the /devicelogin page. Errors use the AADSTS shape.
//   - the Graph host under /v1.0: /me and /users/{id|upn}, the user
//     resource, contactFolders (list, create, rename, delete, childFolders,
//     the well-known "Contacts" name, folder delta), contacts (list with
//     paging, $top, $skip, $select, $filter, $orderby, $count, $expand of
//     extended properties; create, read, update, delete with If-Match and
//     412), contact photos (a write alters the contact's changeKey and
//     lastModifiedDateTime, as Exchange keeps the photo as an attachment;
//     a personal account's mailbox, [Mailbox.SetPersonal], refuses photo
//     writes), mailboxSettings timeZone ([Mailbox.SetTimeZone]; birthdays
//     entered in Outlook are the local midnight in UTC; 403 without the
//     delegated scope MailboxSettings.Read or, app-only, without
//     [App.MailboxSettings]), per-folder contact delta (nextLink/deltaLink,
//     @removed, empty pages, in-round duplicates, 410 on expired tokens) and
//     JSON $batch (20 requests, dependsOn and 424, shuffled answers, at most
//     4 sub-requests in parallel, each holding a slot of its mailbox for
//     Options.SubRequestLatency; of the envelope's headers only
//     Authorization reaches the sub-requests, so Prefer must be set on each).
//
// Ids: contacts have an immutable id form (prefix "AAkALg", returned with
// Prefer: IdType="ImmutableId") and a regular form (prefix "AAMkA"); both
// address the item, ids are case-sensitive, and a malformed id answers
// 400 ErrorInvalidIdMalformed.
//
// Access tokens are opaque random strings the server maps to their app,
// user, scopes and expiry. Every Graph request (and every $batch
// sub-request) passes through the throttles (Options.ConcurrencyLimit
// concurrent requests and Options.RateLimit per Options.RateWindow per app
// and mailbox, answered with 429 and Retry-After) and through the scripted
// faults of [Server.FailNext].
//
// Exchange's limits are on by default, as strict as the reference: contact
// delta pages are capped at 200 whatever odata.maxpagesize asks
// (Options.ContactDeltaPageCap); only the last 3 sync-state generations
// (completed delta rounds) of a folder can be replayed, older deltaLinks
// answering 410 SyncStateNotFound with Exchange's generation message
// (Options.SyncStateGenerations); the 4 concurrent requests are per app and
// mailbox over every token and connection. Options.Cloud = CloudChina
// refuses v1.0 contact delta as 21Vianet does, and Options.Transient412Rate
// makes GETs without If-Match answer transient 412s (off by default).
//
// Behaviour the reference (graph-contacts.md) calls uncertain is
// configurable through [Options]: refresh-token reuse after rotation,
// whether If-Match is enforced, displayName regeneration, the birthday
// format, whether a photo changed in Outlook shows in delta, e-mail names defaulting to the address, the 410 error code,
// empty delta pages and in-round duplicates.
//
// For an organisation ([Server.AddTenant]: several tenants, each with its
// users, groups, signing key and issuer):
//
//   - the directory, for app-only tokens whose roles ([App.Roles]) hold
//     User.Read.All (group members: GroupMember.Read.All), else 403
//     Authorization_RequestDenied: GET /users (paged, $select, $filter on
//     accountEnabled and userType with eq only), /users/{id}/manager,
//     /users/{id}/photo[/$value], /groups/{id}/members (paged) and
//     /users/delta ($select and $expand=manager kept in the tokens,
//     $filter on id only, pages capped at 200, changed users with only
//     their changed properties, removed ones as @removed "changed" (soft)
//     or "deleted", 410 after Options.DirectoryDeltaTokenTTL or
//     ExpireDeltaTokens). Tests change it with [Server.AddUser],
//     [Server.UpdateUser], [Server.DisableUser], [Server.RemoveUser],
//     [Server.AddGroup], [Server.AddGroupMember] and
//     [Server.RemoveGroupMember]; a disabled user cannot sign in
//     (AADSTS50057). [Server.SeedDirectory] fills a tenant with realistic
//     people for benchmarks.
//   - app-only access to every mailbox of the token's tenant (another
//     tenant's users are not found; [App.AccessPolicyGroup] plays an
//     Exchange application access policy), each mailbox with its own
//     limits; a user without a licence ([User.NoMailbox]) answers 404
//     MailboxNotEnabledForRESTAPI.
//   - OpenID Connect: /{tenant}/v2.0/.well-known/openid-configuration,
//     /{tenant}/discovery/v2.0/keys (RSA, kid; [Server.SigningKey]) and
//     RS256 ID tokens (iss [Issuer], aud, tid, oid, pairwise sub, nonce,
//     name and preferred_username with the profile scope, iat, nbf, exp)
//     from the code, refresh and device grants when the scope has openid;
//     a user of another tenant at a tenant's authority is refused
//     (AADSTS50020).
//
// Not simulated: the userinfo endpoint, implicit and hybrid flows
// (id_token from /authorize), groups delta and membership in users delta,
// directory writes through Graph, response_mode form_post/fragment, consumer (MSA) accounts, national
// clouds as distinct hosts (any Host is served; Options.Cloud only
// selects the Graph rules), conditional access,
// continuous access evaluation, open extensions, multi-value extended
// property filters, moving contacts between folders (Graph v1.0 has no
// contact move), contact photos of sizes other than the uploaded one
// (photo/{size}), $search, the beta endpoint, the 150 MB upload
// throttle, mail, calendar and every other Graph resource.
package graphsim
