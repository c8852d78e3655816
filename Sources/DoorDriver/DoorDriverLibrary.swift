import CGPIOD

/// Door hardware through libgpiod 1.6 (the v1 API). The relay, inputs and the door state machine
/// arrive with the DoorDriver issue; for now the module only proves the C library links.
public enum DoorDriverLibrary {
    /// The libgpiod version the daemon runs against (`gpiod_version_string`), e.g. "1.6.3".
    public static var libgpiodVersion: String { String(cString: gpiod_version_string()) }
}
