import AccessGateway
import Testing

/// Reading the newest witnessed event out of the daemon's log lines, as `JournalLogHandler`
/// writes them and journald keeps them.
@Suite struct JournalWitnessTests {
    static let a = String(repeating: "a", count: 64)
    static let b = String(repeating: "b", count: 64)

    static let cases: [(name: String, text: String, expected: JournalWitness?)] = [
        ("no lines", "", nil),
        ("lines without seq", "info access-gateway: ready doors=2\n", nil),
        ("a decision line", "info access-gateway: granted door=A/1 hash=\(a) reason=granted seq=7\n", JournalWitness(seq: 7, hash: a)),
        ("journald's -o cat, priority stripped", "granted door=A/1 hash=\(a) seq=3", JournalWitness(seq: 3, hash: a)),
        (
            "the highest seq, whatever the order",
            "denied hash=\(b) seq=12\ngranted hash=\(a) seq=9\n", JournalWitness(seq: 12, hash: b)
        ),
        ("a seq without a hash is no witness", "denied seq=40\ngranted hash=\(a) seq=9", JournalWitness(seq: 9, hash: a)),
        ("a malformed hash is no witness", "denied hash=xyz seq=40\n", nil),
        ("a malformed seq is no witness", "denied hash=\(a) seq=4x0\n", nil),
    ]

    @Test(arguments: cases)
    func theNewestWitnessedEventIsFound(_ example: (name: String, text: String, expected: JournalWitness?)) {
        #expect(JournalWitness.newest(in: example.text[...]) == example.expected, "\(example.name)")
    }
}
