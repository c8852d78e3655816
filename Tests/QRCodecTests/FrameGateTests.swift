import Foundation
import QRCodec
import TestSupport
import Testing

/// The frame gate on camera-like streams (TestSupport's `DoorwayStream`), at 320×240 to keep the
/// debug build quick; the gate works on 16-pixel blocks whatever the frame size.
@Suite struct FrameGateTests {
    static let fps = 30.0

    func at(_ frame: Int) -> Duration { .nanoseconds(Int64(Double(frame) / Self.fps * 1e9)) }

    func doorway(_ kind: DoorwayStream.Kind) -> DoorwayStream {
        DoorwayStream(kind, width: 320, height: 240, fps: Self.fps)
    }

    /// Runs `frames` of `stream` through a fresh gate; the verdict per frame.
    func run(_ stream: DoorwayStream, frames: Range<Int>, gate: inout FrameGate) -> [FrameGate.Verdict] {
        frames.map { gate.assess(stream.frame($0), at: at($0)) }
    }

    @Test(arguments: [DoorwayStream.Kind.still, .noisy, .flicker])
    func anEmptyDoorwayIsDecodedOnlyAtTheSlowCadence(kind: DoorwayStream.Kind) {
        var gate = FrameGate()
        let verdicts = run(doorway(kind), frames: 0..<60, gate: &gate)
        // 2 s: the first frame, then one every 0.5 s.
        #expect(verdicts.first == .decode(.first))
        #expect(verdicts.dropFirst().allSatisfy { $0 == .skip || $0 == .decode(.cadence) })
        #expect(verdicts.filter(\.decodes).count <= 5)
    }

    @Test func aPersonWalkingPastIsDecodedWhileInViewThenTheGateGoesQuiet() {
        let stream = doorway(.walkPast)
        var gate = FrameGate()
        let verdicts = run(stream, frames: 0..<stream.cycle, gate: &gate)
        // Every frame that shows the person moving is decoded (something moved: a code could be
        // coming), and so is the one where they have just left.
        let crossing = (1..<stream.cycle).filter { stream.personX($0) != nil }
        #expect(crossing.count > 30)
        #expect(crossing.allSatisfy { verdicts[$0].decodes })
        #expect(verdicts[crossing.last! + 1] == .decode(.changed))
        // A second after, the empty doorway is back to the slow cadence.
        let quiet = verdicts[(crossing.last! + 1 + Int(Self.fps) + 1)...]
        #expect(quiet.allSatisfy { $0 == .skip || $0 == .decode(.cadence) })
        #expect(quiet.filter(\.decodes).count <= 2)
    }

    struct Appearance: Sendable, CustomTestStringConvertible {
        var kind: DoorwayStream.Kind
        var moduleSize: Int
        var x: Int
        var y: Int
        var testDescription: String { "\(kind.rawValue), \(moduleSize) px modules at (\(x), \(y))" }
    }

    /// The code arrives mid-quiet (10 frames after a cadence decode, so no decode was due), in
    /// each kind of light, large and small, anywhere: its first frame goes to the decoder, which
    /// reads it.
    @Test(arguments: [
        Appearance(kind: .still, moduleSize: 3, x: 20, y: 20),
        Appearance(kind: .still, moduleSize: 5, x: 100, y: 40),
        Appearance(kind: .noisy, moduleSize: 3, x: 200, y: 120),
        Appearance(kind: .noisy, moduleSize: 4, x: 60, y: 90),
        Appearance(kind: .flicker, moduleSize: 3, x: 150, y: 10),
        Appearance(kind: .flicker, moduleSize: 4, x: 5, y: 100),
        Appearance(kind: .walkPast, moduleSize: 3, x: 230, y: 60),
    ])
    func aCodeIsDecodedOnTheFirstFrameThatCarriesIt(_ appearance: Appearance) throws {
        let base = doorway(appearance.kind)
        let text = "AG1:FRAME-GATE"
        let code = try QRMatrix.encode(text: text).image(moduleSize: appearance.moduleSize)
        let withCode = base.showing(code, x: appearance.x, y: appearance.y)
        var gate = FrameGate()
        // The walk-past stream arrives in its empty half, after the person has gone.
        let first = appearance.kind == .walkPast ? base.cycle - 10 : 40
        let before = run(base, frames: 0..<first, gate: &gate)
        #expect(before.suffix(5).allSatisfy { $0 == .skip }, "the gate was quiet when the code came")
        let frame = withCode.frame(first)
        #expect(gate.assess(frame, at: at(first)) == .decode(.changed))
        let scanner = try QRScanner()
        #expect(scanner.scanStill(frame).map(\.text) == [text])
    }

    @Test func aReadCodeKeepsEveryFrameDecodedForTheHold() throws {
        let base = doorway(.still)
        var gate = FrameGate()
        _ = run(base, frames: 0..<40, gate: &gate)
        let code = try QRMatrix.encode(text: "HELD").image(moduleSize: 4)
        let held = base.showing(code, x: 80, y: 40)
        #expect(gate.assess(held.frame(40), at: at(40)) == .decode(.changed))
        gate.decoded(foundCode: true, at: at(40))
        // Held still for a second: every frame goes on to the decoder.
        let following = (41..<70).map { gate.assess(held.frame($0), at: at($0)) }
        #expect(following.allSatisfy { $0 == .decode(.active) })
    }

    @Test func aMissedCodeHeldStillIsTriedForTheHoldAndThenAtTheCadence() throws {
        let base = doorway(.still)
        var gate = FrameGate()
        _ = run(base, frames: 0..<40, gate: &gate)
        let held = base.showing(try QRMatrix.encode(text: "MISSED").image(moduleSize: 4), x: 80, y: 40)
        #expect(gate.assess(held.frame(40), at: at(40)) == .decode(.changed))
        gate.decoded(foundCode: false, at: at(40))
        let following = (41..<130).map { gate.assess(held.frame($0), at: at($0)) }
        #expect(following.prefix(29).allSatisfy { $0 == .decode(.active) })
        #expect(following.filter { $0 == .decode(.cadence) }.count >= 3)
    }

    struct Unsure: Sendable, CustomTestStringConvertible {
        var name: String
        var next: GreyImage
        var reason: FrameGate.Reason
        var testDescription: String { name }
    }

    /// When the gate cannot compare a frame with the last decoded one, the frame is decoded.
    @Test(arguments: [
        Unsure(name: "a frame of another size", next: DoorwayStream.doorway(width: 160, height: 120), reason: .first),
        Unsure(name: "a nearly black frame", next: GreyImage(width: 320, height: 240, fill: 4), reason: .unsure),
    ])
    func aFrameItCannotCompareIsDecoded(_ unsure: Unsure) {
        var gate = FrameGate()
        _ = run(doorway(.still), frames: 0..<10, gate: &gate)
        #expect(gate.assess(unsure.next, at: at(10)) == .decode(unsure.reason))
    }

    @Test func aSlowDriftIsCaughtAgainstTheLastDecodedFrameNotTheLastFrame() {
        // One grey level a frame: no single step is a change, but they add up.
        let base = DoorwayStream.doorway(width: 320, height: 240)
        var gate = FrameGate(settings: .init(quietInterval: .seconds(3600)))
        #expect(gate.assess(base, at: at(0)) == .decode(.first))
        var changedAt: Int?
        for step in 1..<60 {
            var frame = base
            // Only the left half brightens: a lamp coming on, not an exposure change.
            for y in 0..<240 {
                for x in 0..<160 { frame.pixels[y * 320 + x] = UInt8(clamping: Int(base.pixels[y * 320 + x]) + step) }
            }
            if gate.assess(frame, at: at(step)).decodes {
                changedAt = step
                break
            }
        }
        #expect(changedAt != nil && changedAt! < 40)
    }
}

@Suite struct ScanLoopFrameGateTests {
    /// 40 frames of a still doorway, then 10 with a code: `gated` frames skip the decode, and the
    /// code is still read.
    func folder() throws -> String {
        let dir = try TestPaths.temporaryDirectory()
        let base = DoorwayStream(.still, width: 320, height: 240)
        let shown = base.showing(try QRMatrix.encode(text: "GATED").image(moduleSize: 4), x: 100, y: 40)
        for i in 0..<50 {
            let frame = i < 40 ? base.frame(i) : shown.frame(i)
            try Data(PGM.encode(frame)).write(to: dir.appendingPathComponent(String(format: "%03d.pgm", i)))
        }
        return dir.path
    }

    @Test(arguments: [true, false])
    func theLoopSkipsUnchangedFramesOnlyWithTheGate(gated: Bool) throws {
        let folder = try folder()
        let settings = ScanSettings(decoders: .auto, frameGate: gated ? FrameGate.Settings() : nil)
        let loop = ScanLoop(settings: settings)
        loop.start { try PGMFolderSource(folder: folder, fps: 30) }
        var texts: [String] = []
        while let code = loop.codes.take() { texts.append(code.text) }
        loop.wait()
        #expect(texts == ["GATED"])
        let stats = loop.statistics
        #expect(stats.frames == 50)
        if gated { #expect(stats.gated > 0) } else { #expect(stats.gated == 0) }
    }
}
