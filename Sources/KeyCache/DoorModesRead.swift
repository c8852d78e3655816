import GRDB

extension GatewayStore {
    /// Each door's mode in the stored snapshot, by door id.
    public func snapshotDoorModes() throws(KeyCacheError) -> [String: DoorMode] {
        try read { db in
            var modes: [String: DoorMode] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, mode FROM doors") {
                modes[row["id"]] = DoorMode(rawValue: row["mode"]) ?? .normal
            }
            return modes
        }
    }
}
