package main

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// TestNoticeIsCurrent regenerates NOTICE from the binary's modules and
// compares it with the committed file.
func TestNoticeIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH: NOTICE is not checked")
	}
	mods, err := binaryModules("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) == 0 {
		t.Fatal("no modules listed for ./cmd/smsflow")
	}
	var got bytes.Buffer
	if err := write(&got, mods); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../../NOTICE")
	if err != nil {
		t.Fatalf("read NOTICE: %v (generate it: go run ./internal/tools/notice > NOTICE)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatal("NOTICE is out of date with the binary's modules: run `go run ./internal/tools/notice > NOTICE` and commit it")
	}
}

func TestLicenseKind(t *testing.T) {
	for text, want := range map[string]string{
		"Apache License\nVersion 2.0":                      "Apache-2.0",
		"Permission is hereby granted, free of charge, to": "MIT",
		"Redistribution and use in source and binary forms, with or without\nmodification... Neither the name of X\nmay be used to endorse or promote products": "BSD-3-Clause",
		"Permission is hereby granted, free of charge ... Apache License":                                                                                       "Apache-2.0, MIT",
		"Redistribution and use in source and binary forms":                                                                                                     "BSD-2-Clause",
		"some other text": "",
	} {
		if got := licenseKind(text); got != want {
			t.Errorf("licenseKind(%q) = %q, want %q", text, got, want)
		}
	}
}
