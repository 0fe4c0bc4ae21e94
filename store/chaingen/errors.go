package chaingen

import "errors"

// Sentinel errors; check them with errors.Is.
var (
	// ErrBadConfig reports an invalid Config (missing output directory,
	// negative counts, ...). The wrapped message names the field.
	ErrBadConfig = errors.New("chaingen: bad config")
	// ErrUnknownScenario reports a scenario name that is not one of Scenarios.
	ErrUnknownScenario = errors.New("chaingen: unknown scenario")
	// ErrUnknownShape reports a chain shape that is not one of Shapes.
	ErrUnknownShape = errors.New("chaingen: unknown shape")
	// ErrUnknownModel reports a taint model that is not one of TaintModels.
	ErrUnknownModel = errors.New("chaingen: unknown taint model")
	// ErrBadTaintInput reports inconsistent values passed to Propagate.
	ErrBadTaintInput = errors.New("chaingen: inconsistent taint input")
	// ErrBadScriptType reports an internal request for an unknown script type.
	ErrBadScriptType = errors.New("chaingen: bad script type")
	// ErrInternal reports a generator bug (an inconsistent plan); please report it.
	ErrInternal = errors.New("chaingen: internal error")
	// ErrBadTruth reports a truth.json that cannot be read or has the wrong version.
	ErrBadTruth = errors.New("chaingen: bad truth file")
)
