// Package graph is cardbridge's Microsoft Graph HTTP client for Outlook
// contacts.
//
// Every Graph request goes through one request path (Client.Do and the
// batch path built on it), which:
//
//   - keeps at most 4 requests (Outlook's per-app, per-mailbox concurrency
//     limit) in flight per mailbox: per Client, or, with Options.Limiters,
//     together with every Client of the same registry on the same (Graph
//     host, app id, mailbox); a $batch takes min(4, len) slots, as Outlook
//     runs up to 4 of its sub-requests in parallel;
//   - waits Retry-After (seconds or HTTP date) on 429 and 503, and backs
//     off exponentially with jitter without it, for other 5xx answers, for
//     connection resets and for timeouts; only idempotent requests (GET,
//     HEAD, PUT, and DELETE or PATCH with If-Match) are retried on those,
//     a POST only on 429 and on 503 with Retry-After (surely not
//     processed);
//   - retries a read (GET or HEAD without If-Match) answered 412 up to
//     Options.MaxReadConflictRetries times with back-off: Exchange answers
//     transient 412 ErrorIrresolvableConflict to plain reads. A 412 to a
//     request with If-Match is a stale change key and is returned at once
//     (the caller re-reads and merges). $batch sub-requests get the same
//     policy, each retried alone;
//   - refreshes the token once on 401 (TokenSource.Invalidate, one retry);
//   - bounds retries (Options.MaxRetries) and the total wait
//     (Options.MaxWait), failing with "throttled by Graph for longer than …";
//   - honours context cancellation everywhere, waits included;
//   - never sends a request (nor the bearer token) off the configured Graph
//     scheme and host: a nextLink, deltaLink or redirect elsewhere is
//     refused;
//   - sends Prefer: IdType="ImmutableId" with every request;
//   - never puts the token in an error or a log line.
//
// Errors Graph answers come as *Error, built from Graph's error envelope;
// IsNotFound, IsPrecondition, IsGone and IsThrottled classify them.
package graph
