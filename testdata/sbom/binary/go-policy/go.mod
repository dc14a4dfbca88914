module example.com/palisade/go-fixture-policy

go 1.19

require (
	github.com/cespare/xxhash/v2 v2.2.0
	golang.org/x/mod v0.8.0
)

replace golang.org/x/mod => github.com/golang/mod v0.8.0
