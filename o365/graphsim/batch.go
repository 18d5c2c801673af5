package graphsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MaxBatch is the most requests one $batch may hold.
const MaxBatch = 20

type batchReq struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

type batchResp struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// recorder is a minimal http.ResponseWriter for sub-requests.
type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(c int) {
	if r.status == 0 {
		r.status = c
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.buf.Write(b)
}

func headerValue(h map[string]string, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Batches++
	s.stats.GraphRequests++
	s.mu.Unlock()
	w.Header().Set("request-id", newGUID())
	// The envelope's own time: one Latency when its sub-requests take
	// none (Options.SubRequestLatency -1); otherwise theirs, and one
	// Latency only when it is refused before they run.
	lenient := s.opts.SubRequestLatency <= 0
	if lenient {
		s.sleepLatency(r.Context())
	}
	refuse := func(status int, code, msg string) {
		if !lenient {
			s.sleepLatency(r.Context())
		}
		graphError(w, r, status, code, msg)
	}
	if r.Method != http.MethodPost {
		refuse(405, "BadRequest", "The method '"+r.Method+"' is not allowed for $batch.")
		return
	}
	auth := r.Header.Get("Authorization")
	_, raw, _ := strings.Cut(auth, " ")
	s.mu.Lock()
	tok := s.access[strings.TrimSpace(raw)]
	s.mu.Unlock()
	if tok == nil || !s.now().Before(tok.expires) {
		msg := "Access token is empty."
		if auth != "" {
			msg = "Lifetime validation failed, the token is expired or is not valid."
		}
		refuse(401, "InvalidAuthenticationToken", msg)
		return
	}
	body, err := readAllLimit(w, r)
	if err != nil {
		refuse(413, "RequestEntityTooLarge", err.Error())
		return
	}
	var batch struct {
		Requests []batchReq `json:"requests"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		refuse(400, "BadRequest", "Invalid batch payload format: "+err.Error())
		return
	}
	reqs := batch.Requests
	switch {
	case len(reqs) == 0:
		refuse(400, "BadRequest", "Invalid batch payload format: the batch contains no requests.")
		return
	case len(reqs) > MaxBatch:
		refuse(400, "BadRequest", fmt.Sprintf("Unable to deserialize batch request: the number of requests in the batch (%d) exceeds the limit of %d.", len(reqs), MaxBatch))
		return
	}
	index := map[string]int{}
	for i, q := range reqs {
		if q.ID == "" || q.Method == "" || q.URL == "" {
			refuse(400, "BadRequest", fmt.Sprintf("Invalid batch payload format: request %d needs id, method and url.", i))
			return
		}
		if _, dup := index[q.ID]; dup {
			refuse(400, "BadRequest", "Invalid batch payload format: batch request ids must be unique; '"+q.ID+"' is repeated.")
			return
		}
		index[q.ID] = i
		if len(q.Body) > 0 && !isNull(q.Body) {
			if _, ok := headerValue(q.Headers, "Content-Type"); !ok {
				refuse(400, "BadRequest", "Invalid batch payload format: Content-Type header must be specified for request '"+q.ID+"' with a body.")
				return
			}
		}
	}
	for _, q := range reqs {
		for _, d := range q.DependsOn {
			if _, ok := index[d]; !ok || d == q.ID {
				refuse(400, "BadRequest", "Invalid batch payload format: request '"+q.ID+"' depends on unknown request '"+d+"'.")
				return
			}
		}
	}
	// detect dependency cycles
	state := make([]int, len(reqs))
	var visit func(i int) bool
	visit = func(i int) bool {
		if state[i] == 1 {
			return false
		}
		if state[i] == 2 {
			return true
		}
		state[i] = 1
		for _, d := range reqs[i].DependsOn {
			if !visit(index[d]) {
				return false
			}
		}
		state[i] = 2
		return true
	}
	for i := range reqs {
		if !visit(i) {
			refuse(400, "BadRequest", "Invalid batch payload format: dependsOn forms a cycle.")
			return
		}
	}

	results := make([]batchResp, len(reqs))
	done := make([]chan struct{}, len(reqs))
	for i := range done {
		done[i] = make(chan struct{})
	}
	sem := make(chan struct{}, s.opts.BatchParallelism)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer close(done[i])
			q := reqs[i]
			failed := false
			for _, d := range q.DependsOn {
				<-done[index[d]]
				if results[index[d]].Status >= 400 {
					failed = true
				}
			}
			if failed {
				b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "FailedDependency", "message": "The request could not be processed because a request it depends on failed."}})
				results[i] = batchResp{ID: q.ID, Status: 424, Headers: map[string]string{"Content-Type": "application/json"}, Body: b}
				return
			}
			sem <- struct{}{}
			results[i] = s.runSub(r, auth, q)
			<-sem
		}(i)
	}
	wg.Wait()
	order := make([]int, len(results))
	for i := range order {
		order[i] = i
	}
	if !s.opts.BatchInOrder {
		s.mu.Lock()
		s.rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		s.mu.Unlock()
	}
	out := make([]batchResp, len(results))
	for i, j := range order {
		out[i] = results[j]
	}
	writeJSON(w, 200, encodeResponses(out))
}

// encodeResponses writes a $batch answer as json.Marshal of
// {"responses": out} would (header names sorted), without re-reading the
// sub-responses' bodies: they are the simulator's own compact JSON.
func encodeResponses(out []batchResp) []byte {
	var b bytes.Buffer
	b.WriteString(`{"responses":[`)
	for i, r := range out {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":`)
		jstr(&b, r.ID)
		b.WriteString(`,"status":`)
		b.WriteString(strconv.Itoa(r.Status))
		if len(r.Headers) > 0 {
			b.WriteString(`,"headers":{`)
			for j, k := range slices.Sorted(maps.Keys(r.Headers)) {
				if j > 0 {
					b.WriteByte(',')
				}
				jstr(&b, k)
				b.WriteByte(':')
				jstr(&b, r.Headers[k])
			}
			b.WriteByte('}')
		}
		if len(r.Body) > 0 {
			b.WriteString(`,"body":`)
			if json.Valid(r.Body) {
				b.Write(bytes.TrimSpace(r.Body))
			} else { // never the simulator's own: said as a string
				jstr(&b, string(r.Body))
			}
		}
		b.WriteByte('}')
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func readAllLimit(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		return nil, fmt.Errorf("the request body exceeds the maximum of %d bytes", MaxBody)
	}
	return buf.Bytes(), nil
}

var batchMethods = map[string]bool{"GET": true, "POST": true, "PATCH": true, "PUT": true, "DELETE": true, "HEAD": true}

func (s *Server) runSub(outer *http.Request, auth string, q batchReq) batchResp {
	rec := &recorder{h: http.Header{}}
	method := strings.ToUpper(q.Method)
	u := q.URL
	bad := func(msg string) batchResp {
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "BadRequest", "message": msg}})
		return batchResp{ID: q.ID, Status: 400, Headers: map[string]string{"Content-Type": "application/json"}, Body: b}
	}
	if !batchMethods[method] {
		return bad("Invalid method '" + q.Method + "' in batch request.")
	}
	if strings.Contains(u, "://") {
		return bad("Invalid request URL '" + u + "': batch request URLs must be relative (\"/me/contacts\").")
	}
	if !strings.HasPrefix(u, "/") {
		u = "/" + u
	}
	if strings.HasPrefix(strings.ToLower(u), "/$batch") {
		return bad("A batch request cannot contain another $batch.")
	}
	var body []byte
	if len(q.Body) > 0 && !isNull(q.Body) {
		ct, _ := headerValue(q.Headers, "Content-Type")
		body = q.Body
		if !strings.Contains(strings.ToLower(ct), "json") {
			var str string
			if json.Unmarshal(q.Body, &str) == nil {
				if dec, err := base64.StdEncoding.DecodeString(str); err == nil {
					body = dec
				} else {
					body = []byte(str)
				}
			}
		}
	}
	req, err := http.NewRequestWithContext(outer.Context(), method, "/v1.0"+u, bytes.NewReader(body))
	if err != nil {
		return bad("Invalid request URL '" + q.URL + "'.")
	}
	req.Host = outer.Host
	req.TLS = outer.TLS
	for _, h := range []string{"X-Forwarded-Proto", "X-Forwarded-Host"} {
		if v := outer.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	for k, v := range q.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", auth)
	func() {
		defer func() {
			if v := recover(); v != nil {
				rec.status = 500
				rec.buf.Reset()
				fmt.Fprintf(&rec.buf, `{"error":{"code":"InternalServerError","message":%q}}`, fmt.Sprint(v))
			}
		}()
		s.handleGraph(rec, req, true)
	}()
	s.mu.Lock()
	s.stats.Status[rec.status]++
	s.mu.Unlock()
	resp := batchResp{ID: q.ID, Status: rec.status, Headers: map[string]string{}}
	if resp.Status == 0 {
		resp.Status = 200
	}
	for _, h := range []string{"Content-Type", "Retry-After", "ETag", "Location", "Preference-Applied"} {
		if v := rec.h.Get(h); v != "" {
			resp.Headers[h] = v
		}
	}
	if rec.buf.Len() > 0 {
		ct := strings.ToLower(rec.h.Get("Content-Type"))
		if strings.Contains(ct, "json") {
			resp.Body = json.RawMessage(bytes.Clone(rec.buf.Bytes()))
		} else {
			b, _ := json.Marshal(base64.StdEncoding.EncodeToString(rec.buf.Bytes()))
			resp.Body = b
		}
	}
	return resp
}
