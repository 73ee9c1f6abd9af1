// The core binary: every subcommand, with the kinds BreakerRunKit defines and
// no network plugins; a breaker that needs one is handed over to
// breaker-run-full (Handover).
import BreakerRunCommandLine
import BreakerRunKit
import CPlatform

// A static core (make) must not let glibc dlopen an NSS module such as
// libnss_systemd for a user name or libnss_resolve for a tcp host.
breaker_run_limit_static_name_services()
CommandLineTool.main(registry: .builtIn)
