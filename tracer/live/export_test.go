package live

import "context"

// WithBuildGate makes gate run before each exposure index build of a
// service made with c (a test holds a build with it).
func WithBuildGate(c *Config, gate func(context.Context)) { c.buildGate = gate }

// HoldLoop runs a job on s's writing loop that waits until the returned
// function is called.
func HoldLoop(ctx context.Context, s *Service) (release func()) {
	started, done := make(chan struct{}), make(chan struct{})
	go s.do(ctx, func(context.Context) error { close(started); <-done; return nil }) //nolint:errcheck // the job itself cannot fail
	<-started
	return func() { close(done) }
}
