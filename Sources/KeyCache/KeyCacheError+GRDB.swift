import GRDB

// Apart from KeyCacheError.swift, so that the error type itself names no GRDB type.
extension KeyCacheError {
    /// `error` as the store reports it: a KeyCacheError as it is; GRDB's `DatabaseError` as
    /// ``sqlite(code:_:)`` with its primary result code; anything else as ``database(_:)``. `context`
    /// goes before the error's text ("cannot open …: ").
    static func wrapping(_ error: any Error, context: String = "") -> KeyCacheError {
        if let error = error as? KeyCacheError { return error }
        if let error = error as? DatabaseError {
            return .sqlite(code: error.resultCode.primaryResultCode.rawValue, context + "\(error)")
        }
        return .database(context + "\(error)")
    }
}
