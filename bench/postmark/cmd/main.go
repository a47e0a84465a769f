// Command postmark runs the fsshim Go reimplementation of the PostMark
// file-system benchmark with raw syscalls:
//
//	postmark [CONFIG-FILE]
package main

import (
	"os"

	"fsshim/bench/postmark"
)

func main() {
	os.Exit(postmark.Main(postmark.Raw{}, os.Args[1:], os.Stdin, os.Stdout))
}
