// Command waybill is the Waybill integration hub: it runs the hub (serve, demo), manages its store
// (migrate), and gives operators and scripts the dead-letter queue, trace, audit and EDI tools.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
