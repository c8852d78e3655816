import CSQLite
import GRDB
import HQProtocol

/// One prepared INSERT, run row by row through the sqlite3 C API on GRDB's own connection.
///
/// Snapshot staging writes a million rows; GRDB's per-row statement arguments were most of that
/// time (docs/BENCHMARKS.md). It owns its statement and finalizes it in `deinit`, and must only be
/// used inside the GRDB transaction it was made in.
struct BulkInsert: ~Copyable {
    private let statement: OpaquePointer
    private let connection: OpaquePointer
    /// SQLite copies bound text at once (SQLITE_TRANSIENT), so Swift strings need not outlive a bind.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// `sqlite3_prepare_v2`.
    init(_ db: Database, sql: String) throws(KeyCacheError) {
        guard let connection = db.sqliteConnection else { throw .database("the connection is closed") }
        var prepared: OpaquePointer?
        guard sqlite3_prepare_v2(connection, sql, -1, &prepared, nil) == SQLITE_OK, let prepared else {
            throw .sqlite(code: sqlite3_errcode(connection) & 0xFF, "cannot prepare \(sql): \(String(cString: sqlite3_errmsg(connection)))")
        }
        self.connection = connection
        self.statement = prepared
    }

    deinit {
        sqlite3_finalize(statement)
    }

    /// `sqlite3_bind_text`, 1-based.
    func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            _ = bytes.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(statement, index, $0.baseAddress, Int32($0.count), Self.transient)
            }
        }
    }

    /// `sqlite3_bind_int64`, 1-based.
    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(statement, index, value)
    }

    /// `sqlite3_step` then `sqlite3_reset`, for the values bound so far.
    func insert() throws(KeyCacheError) {
        let result = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard result == SQLITE_DONE else {
            throw .sqlite(code: sqlite3_errcode(connection) & 0xFF, "insert failed: \(String(cString: sqlite3_errmsg(connection)))")
        }
    }
}
