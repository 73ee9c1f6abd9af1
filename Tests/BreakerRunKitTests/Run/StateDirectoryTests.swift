import BreakerRunKit
import Testing

/// Where each invocation keeps its breakers' state (issue 16): the system
/// configuration's directory is shared by every user, a user's own
/// configuration keeps a private one, and an explicit choice wins.
@Suite("The state directory an invocation resolves")
struct StateDirectoryTests {
    let home = ["HOME": "/home/ann"]

    @Test func theSystemConfigurationSharesVarLibForEveryUser() {
        for isRoot in [true, false] {
            let directory = StateDirectory.resolve(option: nil, environment: home, configured: nil, isRoot: isRoot,
                                                   configurationFiles: ["/etc/breaker-run/breakers.yaml", "/etc/breaker-run/breakers.d/10-a.yaml"])
            #expect(directory == "/var/lib/breaker-run", "root: \(isRoot)")
        }
    }

    @Test func aUsersOwnConfigurationKeepsAPrivateDirectory() {
        let own = ["/home/ann/.config/breaker-run/breakers.yaml"]
        #expect(StateDirectory.resolve(option: nil, environment: home, configured: nil, isRoot: false, configurationFiles: own)
            == "/home/ann/.local/state/breaker-run")
        #expect(StateDirectory.resolve(option: nil, environment: home.merging(["XDG_STATE_HOME": "/srv/state"]) { $1 },
                                       configured: nil, isRoot: false, configurationFiles: ["/srv/app/breakers.yaml"])
            == "/srv/state/breaker-run")
        // A path that only starts like the system directory is not it.
        #expect(StateDirectory.resolve(option: nil, environment: home, configured: nil, isRoot: false,
                                       configurationFiles: ["/etc/breaker-run-old/breakers.yaml"])
            == "/home/ann/.local/state/breaker-run")
    }

    @Test func anExplicitChoiceWinsOverTheSystemDirectory() {
        let system = ["/etc/breaker-run/breakers.yaml"]
        #expect(StateDirectory.resolve(option: "/tmp/s", environment: ["BREAKER_RUN_STATE_DIR": "/tmp/e"], configured: "/tmp/c",
                                       isRoot: false, configurationFiles: system) == "/tmp/s")
        #expect(StateDirectory.resolve(option: nil, environment: ["BREAKER_RUN_STATE_DIR": "/tmp/e"], configured: "/tmp/c",
                                       isRoot: false, configurationFiles: system) == "/tmp/e")
        #expect(StateDirectory.resolve(option: nil, environment: home, configured: "/tmp/c", isRoot: false, configurationFiles: system) == "/tmp/c")
    }
}
