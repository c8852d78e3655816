import CSQLite

/// The SQLite store of keys, snapshot, pass usage and the audit chain arrives with the KeyCache
/// issue; for now the module only proves the C library links.
public enum KeyCacheLibrary {
    /// The SQLite library version (`sqlite3_libversion`), e.g. "3.40.1".
    public static var sqliteVersion: String { String(cString: sqlite3_libversion()) }
}
