/// One key of a breaker's mapping (and of `defaults`), as the decoder, the
/// merge of `defaults` and `validate --print` use it: built from one
/// declaration in `BreakerKeys` (a `BreakerKeys.Key`, or a few lines of its
/// own for a key that is not one property of the breaker).
struct BreakerKey: Sendable {
    /// Where `validate --print` writes a key: the groups in this order, the
    /// keys of a group in the order of `BreakerKeys.all`, the call after
    /// the first group.
    enum Group: Int, Sendable, Comparable {
        /// What the breaker is (`description`).
        case about
        /// The trip and recovery rules (`fail_max` ... `backoff`).
        case trip
        /// How the call runs and is judged, and where the state lives.
        case call
        /// What answers a rejected call (`fallback`).
        case fallback

        static func < (lhs: Group, rhs: Group) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// A value as `validate --print` writes it.
    enum Printed: Sendable, Equatable {
        /// `key: TEXT` on one line.
        case value(String)
        /// `key:` and these lines under it, indented by two more spaces.
        case lines([String])
        /// `# key: not set (MEANING)`: the key has no value, and what that means.
        case absent(String)
        /// Nothing at all (`max_wait` without `max_concurrent`).
        case hidden
    }

    /// The key as YAML writes it, such as `kill_after`.
    let name: String
    /// Where `validate --print` writes it.
    let group: Group
    /// What it sets, in one line, with the unit of a duration.
    let doc: String
    /// Reads the key's value into a breaker's (or `defaults`') fields,
    /// reporting every problem to the decoder; false when the value has an
    /// error, and then `fields` says nothing of the key.
    let decode: @Sendable (_ decoder: inout ConfigurationDecoder, _ pair: YAMLPair, _ fields: inout BreakerFields) -> Bool
    /// Sets the key's value in `breaker` to the one in `fields`, which sets
    /// it: how a breaker's own value, or else the one of `defaults`, replaces
    /// the built-in default.
    let merge: @Sendable (_ breaker: inout BreakerConfiguration, _ fields: BreakerFields) -> Void
    /// The key's value in `breaker`, as `validate --print` writes it.
    let print: @Sendable (_ breaker: BreakerConfiguration) -> Printed
}

/// What one mapping (a breaker's, or `defaults`) sets, before the merge:
/// the keys it sets, by their index in `BreakerKeys.all`, with their values
/// in `values`.
struct BreakerFields {
    /// The values of the keys in `isSet`; the others are built-in defaults
    /// that mean nothing here.
    var values = BreakerConfiguration(name: "", location: SourceLocation(file: "", line: 0, column: 0))
    /// Bit `i` set: the mapping sets `BreakerKeys.all[i]` (to a valid value).
    var isSet: UInt64 = 0
    /// The call, when the mapping has one (a breaker's only).
    var call: CallSpecification?
    /// Where `success_exit_codes` and `ignore_exit_codes` are written,
    /// by key, for the error that they overlap.
    var exitCodeLocations: [String: SourceLocation] = [:]
    /// `max_concurrent`: kept apart, since the breaker's `bulkhead` needs it
    /// and `max_wait` from wherever each is written.
    var maxConcurrent: Int?
    /// `max_wait` (nil when its value has an error) and where it is
    /// written, for the error that it comes without `max_concurrent`.
    var maxWait: (value: Duration?, location: SourceLocation)?
    /// Where a valid `per_key` is written, for the error that a keyed
    /// breaker has a queue fallback.
    var perKeyLocation: SourceLocation?

    /// Whether the mapping sets the key at `index` of `BreakerKeys.all`.
    func sets(_ index: Int) -> Bool { isSet & (1 << UInt64(index)) != 0 }

    /// The value this mapping, or else `defaults`, sets for `key`; nil when
    /// neither sets it.
    func value<Value>(of key: BreakerKeys.Key<Value>, over defaults: BreakerFields) -> Value? {
        guard let index = BreakerKeys.all.firstIndex(where: { $0.name == key.name }) else { return nil }
        let fields = sets(index) ? self : defaults.sets(index) ? defaults : nil
        return fields.map { key.get($0.values) }
    }
}

extension BreakerKeys {
    /// A key whose value is one property of the breaker: its declaration,
    /// typed. `erased` is what `all` lists.
    @usableFromInline
    struct Key<Value: Sendable>: Sendable {
        /// The key as YAML writes it.
        let name: String
        /// Where `validate --print` writes it.
        let group: BreakerKey.Group
        /// The built-in value: what a breaker has when neither it nor
        /// `defaults` sets the key.
        @usableFromInline
        let defaultValue: Value
        /// What it sets, in one line, with the unit of a duration.
        let doc: String
        /// Reads the property of the breaker it sets. (Closures, not a key
        /// path: instantiating key paths at start-up costs every run more
        /// than the whole decoding.)
        let get: @Sendable (BreakerConfiguration) -> Value
        /// Sets the property of the breaker it sets.
        let set: @Sendable (inout BreakerConfiguration, Value) -> Void
        /// Reads a value: the decoder, the pair, the fields (for a key that
        /// keeps where it is written); nil after reporting an error.
        let read: @Sendable (inout ConfigurationDecoder, YAMLPair, inout BreakerFields) -> Value?
        /// Writes a value for `validate --print`.
        let write: @Sendable (Value) -> BreakerKey.Printed

        /// Declares a key with a built-in value.
        init(_ name: String, _ group: BreakerKey.Group,
             get: @escaping @Sendable (BreakerConfiguration) -> Value, set: @escaping @Sendable (inout BreakerConfiguration, Value) -> Void,
             default defaultValue: Value, doc: String,
             read: @escaping @Sendable (inout ConfigurationDecoder, YAMLPair, inout BreakerFields) -> Value?,
             write: @escaping @Sendable (Value) -> BreakerKey.Printed) {
            self.name = name
            self.group = group
            self.defaultValue = defaultValue
            self.doc = doc
            self.get = get
            self.set = set
            self.read = read
            self.write = write
        }

        /// Declares a key that is unset unless written (an optional property).
        /// - Parameter absent: what no value means, as `validate --print` says it.
        init<Wrapped>(_ name: String, _ group: BreakerKey.Group,
                      get: @escaping @Sendable (BreakerConfiguration) -> Wrapped?, set: @escaping @Sendable (inout BreakerConfiguration, Wrapped?) -> Void,
                      absent: String, doc: String,
                      read: @escaping @Sendable (inout ConfigurationDecoder, YAMLPair, inout BreakerFields) -> Wrapped?,
                      write: @escaping @Sendable (Wrapped) -> BreakerKey.Printed) where Value == Wrapped? {
            self.init(name, group, get: get, set: set, default: nil, doc: doc,
                      read: { decoder, pair, fields in read(&decoder, pair, &fields).map { .some($0) } },
                      write: { value in value.map(write) ?? .absent(absent) })
        }

        /// The key as `BreakerKeys.all` lists it.
        var erased: BreakerKey {
            let get = get, set = set, read = read, write = write
            return BreakerKey(
                name: name, group: group, doc: doc,
                decode: { decoder, pair, fields in
                    guard let value = read(&decoder, pair, &fields) else { return false }
                    set(&fields.values, value)
                    return true
                },
                merge: { breaker, fields in set(&breaker, get(fields.values)) },
                print: { breaker in write(get(breaker)) })
        }
    }
}
