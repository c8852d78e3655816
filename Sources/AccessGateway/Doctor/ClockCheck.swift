import HQSync

extension Doctor {
    /// `floor` is the store's ``ClockFloor``: a clock below it (less the tolerance) was stepped back,
    /// and the gateway refuses time-based grants whatever the kernel says.
    public func checkClock(floor: Double? = nil) -> DoctorCheck {
        if let floor, case let behind = floor - environment.now(), behind > ClockTrust.defaultFloorTolerance {
            return .fail(
                "clock",
                "the clock is \(Int(behind)) s behind the newest time it trusted (\(Int(floor))): it was stepped back",
                fix: "find what set it back (an NTP server on the LAN, the RTC) and set it right (`timedatectl`); "
                    + "until then every time-based grant is refused clock_untrusted, and each step back is in the audit log"
            )
        }
        guard environment.clockSynchronised() else {
            return .fail(
                "clock",
                "the kernel does not report the clock synchronised",
                fix: "enable systemd-timesyncd or chrony (`timedatectl set-ntp true`), check `timedatectl`; "
                    + "until then every time-based grant is refused clock_untrusted"
            )
        }
        return .ok("clock", "the kernel reports the clock synchronised")
    }
}
