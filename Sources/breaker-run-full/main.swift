// The full binary: the same subcommands with the network plugins (http
// calls and probes, the PostgreSQL backend) registered first.
import BreakerRunCommandLine
import BreakerRunKit
import BreakerRunNetwork

NetworkPlugins.registerAll()
CommandLineTool.main()

