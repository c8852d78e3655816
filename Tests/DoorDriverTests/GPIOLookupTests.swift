import DoorDriver
import Testing

/// The chip lookup of the CGPIOD shim, the same code over libgpiod v1 and v2, on a machine without
/// the chip asked for (the hardware stage finds real chips by each kind of spec).
@Suite struct GPIOLookupTests {
    /// A number, a name, a path and a label that no chip has: each is `chipNotFound`, naming it.
    @Test(arguments: ["99", "gpiochip99", "/dev/gpiochip99", "no-such-chip-label"])
    func aChipThatIsNotThereIsChipNotFound(spec: String) {
        let board = BoardConfig(doors: ["a": DoorConfig(id: "T/A", relay: LineConfig(chip: spec, line: "0"))])
        #expect(throws: DoorDriverError.chipNotFound(spec)) { try GPIODoorIO(board: board) }
    }
}
