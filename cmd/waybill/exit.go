package main

import "fmt"

// ExitError makes the process exit with Code after printing Err (when non-nil) to stderr.
// Commands return it from RunE when the exit status carries meaning for scripts, for example
// 1 for "read, but with errors" and 2 for usage or I/O problems.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }
