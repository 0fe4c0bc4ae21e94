package screen_test

import (
	"errors"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func parse(s string) (address.Addr, error) { return address.Parse(s, screentest.Params) }
