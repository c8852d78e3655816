import Foundation
import GRDB
import HQProtocol

extension GatewayStore {
    /// The stored snapshot's door records, by door id: what drives each door's mode and unlock
    /// schedule. A row that cannot be read throws, so the caller fails secure.
    public func snapshotDoors() throws(KeyCacheError) -> [String: DoorRecord] {
        try read { db in
            var doors: [String: DoorRecord] = [:]
            let decoder = JSONDecoder()
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT id, name, mode, tz, schedule, unlock_schedule, first_person_in FROM doors"
            )
            for row in rows {
                let id: String = row["id"]
                guard let mode = DoorMode(rawValue: row["mode"]) else {
                    throw KeyCacheError.badSnapshot("door \(id): stored mode \"\(row["mode"] as String)\" is unknown")
                }
                doors[id] = DoorRecord(
                    id: id,
                    name: row["name"],
                    mode: mode,
                    tz: row["tz"],
                    schedule: try decoder.decode([ScheduleWindow].self, from: Data((row["schedule"] as String).utf8)),
                    unlockSchedule: try decoder.decode(
                        [ScheduleWindow].self,
                        from: Data((row["unlock_schedule"] as String).utf8)
                    ),
                    firstPersonIn: row["first_person_in"]
                )
            }
            return doors
        }
    }
}
