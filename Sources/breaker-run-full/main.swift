// The full binary: the same subcommands, with the network plugins (http
// calls and probes, the PostgreSQL backend) registered in its kinds.
import BreakerRunCommandLine
import BreakerRunKit
import BreakerRunNetwork

var registry = KindRegistry.builtIn
registry.registerNetworkPlugins()
CommandLineTool.main(registry: registry)
