// Command emoney is the one binary of the emoney platform: see `emoney help`.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "emoney:", err)
		os.Exit(1)
	}
}
