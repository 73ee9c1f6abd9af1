/// The lexing of the numbers the configuration writes: whole numbers,
/// durations (`1m30s`), decimals (`1.5`) and percentages (`12.5%`), on the
/// text of one scalar. No positions and no messages: `ConfigurationDecoder`
/// turns a `Problem` into a message at the scalar's position.
enum ScalarLexer {
    /// Why a text is not a number as a key takes it.
    enum Problem: Error {
        /// A leading zero (YAML 1.1's octal); the number as it should be written.
        case leadingZero(String)
        /// YAML 1.1's base 60 (`1:30`); the value it would mean (in seconds
        /// for a duration).
        case sexagesimal(Int)
        /// Not a number of this kind at all.
        case notANumber
        /// A number too large for the value it is read into.
        case tooLarge
    }

    /// Reads a decimal integer: an optional '-' and digits, no leading zero.
    static func integer(_ text: String) -> Result<Int, Problem> {
        // The common case, on bytes: up to 18 digits cannot overflow an Int.
        let utf8 = text.utf8
        if (1...18).contains(utf8.count), utf8.count == 1 || utf8.first != UInt8(ascii: "0"),
           utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let value = Int(text) {
            return .success(value)
        }
        let isNegative = text.hasPrefix("-")
        let digits = isNegative ? String(text.dropFirst()) : text
        if !digits.isEmpty && digits.allSatisfy(\.isASCIIDigit) {
            if digits.count > 1 && digits.hasPrefix("0") {
                let trimmed = String(digits.drop { $0 == "0" })
                return .failure(.leadingZero((isNegative ? "-" : "") + (trimmed.isEmpty ? "0" : trimmed)))
            }
            guard let value = Int(text) else { return .failure(.tooLarge) }
            return .success(value)
        }
        let parts = digits.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count > 1, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) && $0.count <= 9 }) {
            let value = parts.reduce(0) { $0 * 60 + Int($1)! }
            return .failure(.sexagesimal(isNegative ? -value : value))
        }
        return .failure(.notANumber)
    }

    /// Writes whole seconds with units: 90 → `1m30s`.
    static func format(seconds: Int) -> String {
        if seconds == 0 { return "0s" }
        var rest = seconds
        var text = ""
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }

    /// Reads `500ms`, `30s`, `1m30s`, `2h`, `1d` (units from largest to
    /// smallest, each once) or a bare whole number of seconds, in milliseconds.
    static func duration(_ text: String) -> Result<Int64, Problem> {
        if text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) || text.utf8.contains(UInt8(ascii: ":")) {
            switch integer(text) {
            case let .success(seconds) where seconds >= 0:
                let (value, overflow) = Int64(seconds).multipliedReportingOverflow(by: 1000)
                return overflow ? .failure(.tooLarge) : .success(value)
            case .success:
                return .failure(.notANumber)
            case let .failure(problem):
                return .failure(problem)
            }
        }
        // On bytes, not Characters: this runs for every duration of every breaker.
        let bytes = Array(text.utf8)
        var total: Int64 = 0
        var lastUnit = -1
        var index = 0
        guard !bytes.isEmpty else { return .failure(.notANumber) }
        while index < bytes.count {
            var number: Int64 = 0
            let digitsStart = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]), index - digitsStart < 16 {
                number = number * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
                index += 1
            }
            let digitCount = index - digitsStart
            let nameStart = index
            while index < bytes.count, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[index] | 0x20) { index += 1 }
            let name = bytes[nameStart..<index]
            guard digitCount > 0, digitCount <= 15,
                  let (unit, milliseconds) = durationUnit(name), unit > lastUnit else {
                return .failure(.notANumber)
            }
            lastUnit = unit
            let (part, overflow) = number.multipliedReportingOverflow(by: milliseconds)
            let (sum, overflow2) = total.addingReportingOverflow(part)
            if overflow || overflow2 { return .failure(.tooLarge) }
            total = sum
        }
        return .success(total)
    }

    /// The unit of a duration named by `name`: its rank from the largest
    /// (d, h, m, s, ms: each may follow only a larger one) and its length
    /// in milliseconds. A switch, not a table: no allocation per duration.
    private static func durationUnit(_ name: ArraySlice<UInt8>) -> (rank: Int, milliseconds: Int64)? {
        switch (name.count, name.first) {
        case (1, UInt8(ascii: "d")): (0, 86_400_000)
        case (1, UInt8(ascii: "h")): (1, 3_600_000)
        case (1, UInt8(ascii: "m")): (2, 60_000)
        case (1, UInt8(ascii: "s")): (3, 1_000)
        case (2, UInt8(ascii: "m")) where name.last == UInt8(ascii: "s"): (4, 1)
        default: nil
        }
    }

    /// Reads a plain decimal number such as `2` or `1.5`: digits and
    /// points, starting with a digit.
    /// - Returns: the value and its number of decimals; nil when the text
    ///   is not such a number.
    static func decimal(_ text: String) -> (value: Double, decimals: Int)? {
        guard text.allSatisfy({ ("0"..."9").contains($0) || $0 == "." }), text.first.map({ ("0"..."9").contains($0) }) == true,
              let value = Double(text) else { return nil }
        return (value, decimals(text[...]))
    }

    /// Reads a percentage such as `10%` or `12.5%`.
    /// - Returns: the number before `%` (12.5 for `12.5%`) and its number of
    ///   decimals; nil when the text is not a number followed by `%`.
    static func percentage(_ text: String) -> (value: Double, decimals: Int)? {
        guard text.hasSuffix("%") else { return nil }
        let number = text.dropLast()
        guard !number.isEmpty, number.allSatisfy({ ("0"..."9").contains($0) || $0 == "." }), let value = Double(number) else { return nil }
        return (value, decimals(number))
    }

    /// The number of digits after the first `.`; 0 with none.
    private static func decimals(_ number: Substring) -> Int {
        number.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first?.count ?? 0
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
