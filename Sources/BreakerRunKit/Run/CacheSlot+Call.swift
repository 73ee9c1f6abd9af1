extension CacheSlot {
    /// The slot of `call` run under `breaker`: the configured call's when
    /// `call` is the breaker's configured call, else that of its argv.
    /// - Parameters:
    ///   - call: the call that ran or was rejected.
    ///   - breaker: the breaker.
    /// - Returns: the slot.
    static func of(_ call: CallSpecification, under breaker: BreakerConfiguration) -> CacheSlot {
        call == breaker.call ? .configuredCall : .command(call.processArguments ?? [])
    }
}
