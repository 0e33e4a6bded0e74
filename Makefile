# Convenience targets; each is one plain go command (see README).
.PHONY: run test lint bench fuzz
run:
	go run ./cmd/smsflow serve
test:
	go run ./internal/tools/runtests
lint:
	go vet ./... && test -z "$$(gofmt -l .)"
bench:
	go run ./cmd/smsflow bench ingest --duration 20s
