extension BreakerConfiguration {
    /// `BREAKER_NAME`, and `BREAKER_KEY` when this is one key of a keyed
    /// breaker (its `name` is then the key's `KeyedName.storeName`), for
    /// the call, fallbacks and hooks.
    public var nameVariables: [String: String] {
        let (breaker, key) = KeyedName.split(name)
        guard let key else { return ["BREAKER_NAME": breaker] }
        return ["BREAKER_NAME": breaker, "BREAKER_KEY": key]
    }

    /// This breaker as it runs one key: the same definition, named by the
    /// key's `KeyedName.storeName`, so that every state operation of the
    /// run is the key's.
    /// - Parameter key: the key.
    /// - Returns: the key's breaker.
    public func scoped(to key: String) -> BreakerConfiguration {
        var scoped = self
        scoped.name = KeyedName(breaker: name, key: key).storeName
        return scoped
    }
}
