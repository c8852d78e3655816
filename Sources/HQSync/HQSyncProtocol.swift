/// Enrolment, snapshot pull, audit upload and HQ commands arrive with the HQSync issue.
public enum HQSyncProtocol {
    /// The HQ protocol version this gateway speaks.
    public static let version = 1
}
