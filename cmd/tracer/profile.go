package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"time"
)

// Profiling hooks for measuring long runs (bulk ingest at 10 M
// transactions), set by environment so that no flag documents them:
//
//	TRACER_CPUPROFILE=FILE   a CPU profile of the whole command
//	TRACER_HEAPPROFILE=FILE  a heap profile every 10 s (TRACER_HEAPPROFILE_SECS),
//	                         to FILE.1, FILE.2, …
//
// startProfiling starts them and returns the function that ends them.
func startProfiling(stderr io.Writer) func() {
	var stops []func()
	if name := os.Getenv("TRACER_CPUPROFILE"); name != "" {
		f, err := os.Create(name)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "tracer: TRACER_CPUPROFILE: %v\n", err)
		} else {
			stops = append(stops, func() {
				pprof.StopCPUProfile()
				if err := f.Close(); err != nil {
					fmt.Fprintf(stderr, "tracer: TRACER_CPUPROFILE: %v\n", err)
				}
			})
		}
	}
	if name := os.Getenv("TRACER_HEAPPROFILE"); name != "" {
		every := 10 * time.Second
		if s, err := strconv.ParseFloat(os.Getenv("TRACER_HEAPPROFILE_SECS"), 64); err == nil && s > 0 {
			every = time.Duration(s * float64(time.Second))
		}
		done := make(chan struct{})
		ended := make(chan struct{})
		go func() {
			defer close(ended)
			t := time.NewTicker(every)
			defer t.Stop()
			for n := 1; ; n++ {
				select {
				case <-t.C:
				case <-done:
					return
				}
				if err := writeHeapProfile(fmt.Sprintf("%s.%d", name, n)); err != nil {
					fmt.Fprintf(stderr, "tracer: TRACER_HEAPPROFILE: %v\n", err)
					return
				}
			}
		}()
		stops = append(stops, func() { close(done); <-ended })
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
	}
}

func writeHeapProfile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close() //nolint:errcheck // the write failed already
		return err
	}
	return f.Close()
}
