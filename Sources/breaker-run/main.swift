// The core binary: every subcommand, without the network plugins; a breaker
// that needs one is handed over to breaker-run-full (Handover).
import BreakerRunCommandLine

CommandLineTool.main()
