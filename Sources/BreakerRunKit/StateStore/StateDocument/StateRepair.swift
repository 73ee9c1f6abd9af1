/// A field of a stored state that was missing where it mattered, or held a
/// value that could not be read, and the safe value decoding took instead.
///
/// Decoding never throws for a single field: it keeps every field it can
/// read and repairs the rest, so that a damaged or hand-edited state file
/// loses nothing readable. A repair never closes an open breaker: an open
/// state whose end cannot be read gets one trial (half-open).
public struct StateRepair: Sendable, Equatable, CustomStringConvertible {
    /// What was wrong with the field.
    public enum Problem: Sendable, Equatable {
        /// The field was absent (or null) where the state needs it.
        case missing
        /// The field was present with a value of the wrong type or range.
        case unreadable
    }

    /// The field's name as stored, with its parent for a nested one
    /// (`next_trial_at`, `counts.failures`).
    public var field: String
    /// What was wrong with it.
    public var problem: Problem
    /// What decoding did instead, for people ("the breaker gets one trial").
    public var remedy: String

    /// Creates a repair record.
    /// - Parameters:
    ///   - field: the field's name as stored.
    ///   - problem: what was wrong with it.
    ///   - remedy: what decoding did instead.
    public init(field: String, problem: Problem, remedy: String) {
        self.field = field
        self.problem = problem
        self.remedy = remedy
    }

    /// The repair as a phrase to follow a file's name:
    /// "lacked 'next_trial_at'; the breaker gets one trial".
    public var description: String {
        "\(problem == .missing ? "lacked" : "had an unreadable") '\(field)'; \(remedy)"
    }
}

/// One field as found in a keyed container.
enum FieldValue<Value> {
    /// Absent, or null.
    case absent
    /// Present, but not of the type or range wanted.
    case unreadable
    /// Present and readable.
    case value(Value)

    /// The value, or nil when absent or unreadable.
    var value: Value? {
        if case .value(let value) = self { return value }
        return nil
    }

    /// Whether the field was absent (or null).
    var isAbsent: Bool {
        if case .absent = self { return true }
        return false
    }
}

/// Reads the fields of one JSON object one by one, never throwing, and
/// collects the repairs that its caller notes.
struct FieldReader<Key: CodingKey> {
    /// The object read.
    let container: KeyedDecodingContainer<Key>
    /// Put before each field's name in a repair ("counts.").
    let prefix: String
    /// The repairs noted so far, in the order noted.
    private(set) var repairs: [StateRepair] = []

    /// Creates a reader of `container`.
    /// - Parameters:
    ///   - container: the object to read.
    ///   - prefix: put before each field's name in a repair ("counts.").
    init(_ container: KeyedDecodingContainer<Key>, prefix: String = "") {
        self.container = container
        self.prefix = prefix
    }

    /// Whether the field is present and not null.
    func has(_ key: Key) -> Bool {
        container.contains(key) && (try? container.decodeNil(forKey: key)) != true
    }

    /// The field, as found; `isValid` rejects a value of the right type but
    /// out of range.
    func read<T: Decodable>(_ type: T.Type, _ key: Key, isValid: (T) -> Bool = { _ in true }) -> FieldValue<T> {
        guard has(key) else { return .absent }
        guard let value = try? container.decode(type, forKey: key), isValid(value) else { return .unreadable }
        return .value(value)
    }

    /// The field's value; nil when absent, and nil with a repair noted when
    /// unreadable.
    mutating func value<T: Decodable>(_ type: T.Type, _ key: Key, else remedy: String, isValid: (T) -> Bool = { _ in true }) -> T? {
        let found = read(type, key, isValid: isValid)
        if case .unreadable = found { note(.unreadable, key, remedy) }
        return found.value
    }

    /// Notes a repair of `key`.
    mutating func note(_ problem: StateRepair.Problem, _ key: Key, _ remedy: String) {
        repairs.append(StateRepair(field: prefix + key.stringValue, problem: problem, remedy: remedy))
    }

    /// Notes repairs found by a reader of a nested object.
    mutating func adopt(_ repairs: [StateRepair]) {
        self.repairs += repairs
    }
}

/// An element of a list that decodes to nil instead of failing the list.
struct Salvaged<Element: Decodable>: Decodable {
    var element: Element?

    init(from decoder: any Decoder) throws {
        element = try? Element(from: decoder)
    }
}
