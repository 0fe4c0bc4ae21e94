package accuracy

import "errors"

// ErrTruth is returned for a truth file that cannot be read as written by
// store/chaingen; the error names file and line.
var ErrTruth = errors.New("accuracy: bad truth file")
