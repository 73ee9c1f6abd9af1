/// The environment of this process, read from `environ`.
public enum ProcessEnvironment {
    /// Every variable of this process's environment. A variable that appears
    /// twice keeps its first value, as `getenv(3)` does.
    /// - Returns: the variables by name.
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                let name = String(text[..<equals])
                if result[name] == nil {
                    result[name] = String(text[text.index(after: equals)...])
                }
            }
            pointer += 1
        }
        return result
    }
}
