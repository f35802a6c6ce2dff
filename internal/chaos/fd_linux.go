package chaos

import (
	"os"
	"strconv"
)

// openFDs returns the process's open descriptors and what each names, or
// nil where that cannot be listed.
func openFDs() map[int]string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	fds := make(map[int]string, len(ents))
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fds[fd] = target
	}
	return fds
}
