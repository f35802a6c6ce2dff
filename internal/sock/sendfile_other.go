//go:build !linux

package sock

import (
	"errors"
	"fmt"
)

// SendFile is Linux's sendfile(2); elsewhere it returns an error wrapping
// errors.ErrUnsupported, and the caller copies instead.
func (f *FD) SendFile(src int, off *int64, n int) (int, error) {
	return 0, fmt.Errorf("sock: sendfile: %w", errors.ErrUnsupported)
}
