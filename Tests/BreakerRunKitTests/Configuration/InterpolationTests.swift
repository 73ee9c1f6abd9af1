import BreakerRunKit
import Testing

private let here = SourceLocation(file: "b.yaml", line: 1, column: 1)

@Suite struct InterpolationTests {
    @Test func replacesVariablesAndTurnsDoubledDollarsIntoOne() throws {
        let value = try InterpolatedString.parse("Bearer ${TOKEN}; cost $$5; ${A}${A}", at: here)
        #expect(value.variables == ["TOKEN", "A"])
        #expect(value.resolve(in: ["TOKEN": "t0k", "A": "x"]) == .success("Bearer t0k; cost $5; xx"))
        #expect(value.description == "Bearer ${TOKEN}; cost $$5; ${A}${A}")
    }

    @Test func anEmptyVariableCountsAsSet() throws {
        let value = try InterpolatedString.parse("[${EMPTY}]", at: here)
        #expect(value.resolve(in: ["EMPTY": ""]) == .success("[]"))
    }

    @Test func namesEveryUnsetVariableOnce() throws {
        let value = try InterpolatedString.parse("${B}${SET}${A}${B}", at: here)
        #expect(value.resolve(in: ["SET": "1"]) == .failure(.init(names: ["B", "A"])))
    }

    @Test func doesNotReinterpretAVariablesValue() throws {
        let value = try InterpolatedString.parse("${A}", at: here)
        #expect(value.resolve(in: ["A": "${B} $$"]) == .success("${B} $$"))
    }

    @Test func aValueWithoutVariablesIsLiteral() throws {
        #expect(try InterpolatedString.parse("a$$b", at: here).literalValue == "a$b")
        #expect(try InterpolatedString.parse("", at: here).literalValue == "")
        #expect(try InterpolatedString.parse("${A}", at: here).literalValue == nil)
    }

    @Test(arguments: [
        ("5$", InterpolatedString.SyntaxError.loneDollar(offset: 1)),
        ("$HOME", .loneDollar(offset: 0)),
        ("x${HOME", .unclosed(offset: 1)),
        ("${}", .invalidName("", offset: 0)),
        ("${1A}", .invalidName("1A", offset: 0)),
        ("a $$ ${A:-b}", .invalidName("A:-b", offset: 5)),
    ])
    func rejectsMalformedReferences(text: String, expected: InterpolatedString.SyntaxError) {
        #expect(throws: expected) { try InterpolatedString.parse(text, at: here) }
    }

    @Test func escapesDollarsSoALiteralReadsBackAsItself() throws {
        let escaped = InterpolatedString.escaped("$a$$b${c}$")
        #expect(escaped == "$$a$$$$b$${c}$$")
        #expect(try InterpolatedString.parse(escaped, at: here).literalValue == "$a$$b${c}$")
        // A '$' with a combining mark is one Character; it is still doubled.
        #expect(InterpolatedString.escaped("$\u{301}") == "$$\u{301}")
    }
}

@Suite struct BreakerInterpolationTests {
    static let yaml = """
    version: 1
    defaults:
      env:
        AUTH: "Bearer ${TOKEN}"
    breakers:
      inventory: {}
      payments:
        env: {PRICE: "$$5", URL: "https://${HOST}/pay", LANG: C}
      plain:
        env: {}
    """

    @Test func resolvesAVariableWhenTheBreakerIsUsed() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.yaml, file: "b.yaml",
                                                          environment: ["TOKEN": "s3cret", "HOST": "pay.example"])
        let inventory = try configuration.breaker(named: "inventory")
        #expect(inventory.environment == ["AUTH": "Bearer s3cret"])
        #expect(inventory.interpolatedEnvironment.isEmpty)
        let payments = try configuration.breaker(named: "payments")
        #expect(payments.environment == ["PRICE": "$5", "URL": "https://pay.example/pay", "LANG": "C"])
    }

    @Test func keepsTheWrittenFormUntilTheBreakerIsUsed() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.yaml, file: "b.yaml", environment: ["TOKEN": "s3cret"])
        let definition = try configuration.definition(named: "payments")
        #expect(definition.environment == ["PRICE": "$5", "LANG": "C"])
        #expect(definition.interpolatedEnvironment["URL"]?.description == "https://${HOST}/pay")
        #expect(definition.interpolatedEnvironment["URL"]?.location == SourceLocation(file: "b.yaml", line: 8, column: 30))
    }

    @Test func anUnsetVariableStopsOnlyTheBreakersThatReadIt() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.yaml, file: "b.yaml", environment: ["HOST": "h"])
        #expect(throws: ConfigurationError.unsetVariable(name: "TOKEN", breaker: "inventory", key: "env.AUTH",
                                                         location: SourceLocation(file: "b.yaml", line: 4, column: 11))) {
            try configuration.breaker(named: "inventory")
        }
        #expect(try configuration.breaker(named: "payments").environment["URL"] == "https://h/pay")
        #expect(try configuration.breaker(named: "plain").environment == [:])
    }

    @Test func theUnsetVariableErrorNamesTheVariableTheBreakerAndThePlace() {
        let error = ConfigurationError.unsetVariable(name: "TOKEN", breaker: "inventory", key: "env.AUTH",
                                                     location: SourceLocation(file: "b.yaml", line: 4, column: 11))
        #expect(error.description == "b.yaml:4:11: environment variable 'TOKEN' is not set; breaker 'inventory' reads it in 'env.AUTH'; set it, or write $${TOKEN} for the literal text")
    }

    @Test func validateWarnsOncePerPlaceNamingEveryBreakerThatReadsIt() throws {
        let yaml = """
        version: 1
        defaults:
          env: {AUTH: "${TOKEN}"}
        breakers:
          a: {}
          b: {}
          c: {}
          d: {}
          e:
            env: {X: "${X}-${TOKEN}"}
        """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "b.yaml", environment: [:])
        #expect(configuration.unsetVariableWarnings().map(\.description) == [
            "b.yaml:3:15: environment variable 'TOKEN' is not set; breakers 'a', 'b', 'c' and 1 more read it in 'env.AUTH'; set it, or write $${TOKEN} for the literal text",
            "b.yaml:10:14: environment variable 'TOKEN' is not set; breaker 'e' reads it in 'env.X'; set it, or write $${TOKEN} for the literal text",
            "b.yaml:10:14: environment variable 'X' is not set; breaker 'e' reads it in 'env.X'; set it, or write $${X} for the literal text",
        ])
        let resolved = try ConfigurationLoader.parse(yaml: yaml, file: "b.yaml", environment: ["TOKEN": "t", "X": "x"])
        #expect(resolved.unsetVariableWarnings().isEmpty)
    }
}
