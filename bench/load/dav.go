package main

import "fmt"

// Request kinds, the rows of the latency table.
const (
	kindSync     = "sync-collection"
	kindMultiget = "multiget"
	kindGet      = "get"
	kindPut      = "put"
	kindCreate   = "create"
	kindDelete   = "delete"
	kindQuery    = "query" // the checker's full listings, not timed in the table
)

func baseUID(i int) string  { return fmt.Sprintf("load-%05d", i) }
func baseHref(i int) string { return baseUID(i) + ".vcf" }
