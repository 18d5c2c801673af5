package main

import "fmt"

func baseUID(i int) string  { return fmt.Sprintf("load-%05d", i) }
func baseHref(i int) string { return baseUID(i) + ".vcf" }
