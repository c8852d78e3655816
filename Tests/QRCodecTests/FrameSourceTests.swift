import Foundation
import QRCodec
import TestSupport
import Testing

@Suite struct FrameSourceTests {
    func folder(frames: Int) throws -> String {
        let dir = try TestPaths.temporaryDirectory()
        for i in 0..<frames {
            let frame = GreyImage(width: 32, height: 32, fill: UInt8(10 * (i + 1)))
            try Data(PGM.encode(frame)).write(to: dir.appendingPathComponent(String(format: "f%03d.pgm", i)))
        }
        try Data("not a frame".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        return dir.path
    }

    @Test func playsAFolderInNameOrderThenEnds() throws {
        let source = try PGMFolderSource(folder: try folder(frames: 3), fps: 0)
        var fills: [UInt8] = []
        while let frame = try source.nextFrame() { fills.append(frame.pixels[0]) }
        #expect(fills == [10, 20, 30])
    }

    @Test func loopsWhenAsked() throws {
        let source = try PGMFolderSource(folder: try folder(frames: 2), fps: 0, loop: true)
        let fills = try (0..<5).map { _ in try #require(try source.nextFrame()).pixels[0] }
        #expect(fills == [10, 20, 10, 20, 10])
    }

    @Test func refusesAFolderWithoutFrames() throws {
        let empty = try TestPaths.temporaryDirectory().path
        #expect(throws: QRCodecError.self) { try PGMFolderSource(folder: empty, fps: 10) }
    }

    @Test func readsRawY800FramesFromAStream() throws {
        let pipe = Pipe()
        let source = try Y800StreamSource(width: 16, height: 16, handle: pipe.fileHandleForReading)
        pipe.fileHandleForWriting.write(Data([UInt8](repeating: 7, count: 256) + [UInt8](repeating: 9, count: 256)))
        pipe.fileHandleForWriting.write(Data([1, 2, 3]))
        try pipe.fileHandleForWriting.close()
        #expect(try source.nextFrame()?.pixels.allSatisfy { $0 == 7 } == true)
        #expect(try source.nextFrame()?.pixels.allSatisfy { $0 == 9 } == true)
        #expect(throws: QRCodecError.frameSize(expected: 256, actual: 3)) { try source.nextFrame() }
    }

    @Test func anEmptyStreamEndsCleanly() throws {
        let pipe = Pipe()
        try pipe.fileHandleForWriting.close()
        #expect(try Y800StreamSource(width: 16, height: 16, handle: pipe.fileHandleForReading).nextFrame() == nil)
    }
}

@Suite struct LatestFrameTests {
    @Test func theLatestFrameWinsAndDropsAreCounted() {
        let slot = LatestFrame()
        for fill in [UInt8(1), 2, 3] { slot.put(GreyImage(width: 2, height: 2, fill: fill)) }
        #expect(slot.take()?.image.pixels[0] == 3)
        #expect(slot.take() == nil)
        #expect(slot.dropped == 2)
    }
}

@Suite struct ScanGateTests {
    func t(_ seconds: Double) -> Duration { .milliseconds(Int64(seconds * 1000)) }

    @Test func aCodeInConsecutiveFramesIsDecidedOnce() {
        var gate = ScanGate(cooldown: .seconds(3))
        #expect(gate.admit(["A"], at: t(0)) == ["A"])
        for frame in 1...60 { #expect(gate.admit(["A"], at: t(Double(frame) / 30)).isEmpty) }
    }

    @Test func theCodeCountsAgainAfterTheCooldown() {
        var gate = ScanGate(cooldown: .seconds(3))
        #expect(gate.admit(["A"], at: t(0)) == ["A"])
        #expect(gate.admit([], at: t(1)).isEmpty)
        #expect(gate.admit(["A"], at: t(2.9)).isEmpty)
        #expect(gate.admit(["A"], at: t(3)) == ["A"])
    }

    @Test func aPrefixCanHoldItsCodesOffLonger() {
        var gate = ScanGate(cooldown: .seconds(3), prefixCooldowns: ["AG2:": .seconds(65)])
        #expect(gate.admit(["AG2:X", "AG1:Y"], at: t(0)) == ["AG2:X", "AG1:Y"])
        #expect(gate.admit(["AG2:X", "AG1:Y"], at: t(3)) == ["AG1:Y"])
        #expect(gate.admit(["AG2:X"], at: t(64.9)).isEmpty)
        #expect(gate.admit(["AG2:X"], at: t(65)) == ["AG2:X"])
    }

    @Test func differentCodesAreEachDecided() {
        var gate = ScanGate()
        #expect(gate.admit(["A", "B"], at: t(0)) == ["A", "B"])
        #expect(gate.admit(["B", "C"], at: t(0.1)) == ["C"])
    }
}

@Suite struct ScanLoopTests {
    /// A folder of 320×240 frames, each with its own code C0, C1, …
    func codes(_ count: Int) throws -> String {
        let dir = try TestPaths.temporaryDirectory()
        for i in 0..<count {
            var image = GreyImage(width: 320, height: 240, fill: 220)
            image.paste(try QRMatrix.encode(text: "C\(i)").image(moduleSize: 4), x: 60, y: 40)
            try Data(PGM.encode(image)).write(to: dir.appendingPathComponent(String(format: "%03d.pgm", i)))
        }
        return dir.path
    }

    @Test func aSlowDecisionHoldsDecodingWhileCaptureDropsOldFrames() throws {
        let folder = try codes(12)
        let loop = ScanLoop(settings: ScanSettings(decoders: .zbar, queueDepth: 1))
        loop.start { try PGMFolderSource(folder: folder, fps: 0) }
        // Nobody decides yet: capture runs to the end while decoding waits on the full queue.
        // Wait for both (up to 30 s): on a loaded machine capture can finish before the first
        // frame's decode has queued its code.
        for _ in 0..<3000 where loop.statistics.frames < 12 || loop.codes.count < 1 { usleep(10_000) }
        #expect(loop.statistics.frames == 12)
        #expect(loop.codes.count == 1)
        var decided: [String] = []
        while let code = loop.codes.take() { decided.append(code.text) }
        loop.wait()
        // At most the code in the queue, the one decoding held, and the newest frame, which is
        // never lost: the frames between were dropped, not queued.
        #expect(decided.count <= 3)
        #expect(decided.last == "C11")
        #expect(loop.statistics.dropped >= 9)
    }

    /// The daemon waits on this instead of polling the loop.
    @Test func theLoopSaysWhenItHasEndedAndWhenItLastHadAFrame() throws {
        let folder = try codes(3)
        let loop = ScanLoop(settings: ScanSettings(decoders: .zbar))
        let before = ContinuousClock.now
        loop.start { try PGMFolderSource(folder: folder, fps: 0) }
        let ended = DispatchSemaphore(value: 0)
        loop.onEnd { ended.signal() }
        while loop.codes.take() != nil {}
        #expect(ended.wait(timeout: .now() + 30) == .success)
        #expect(loop.statistics.frames == 3)
        #expect(loop.statistics.lastFrameAt.map { $0 >= before } == true)
        let late = DispatchSemaphore(value: 0)
        loop.onEnd { late.signal() }
        #expect(late.wait(timeout: .now() + 5) == .success, "a watcher after the end is called at once")
    }

    @Test func aFailingSourceEndsTheLoopWithItsError() throws {
        let loop = ScanLoop()
        loop.start { try PGMFolderSource(folder: "/nonexistent", fps: 0) }
        loop.wait()
        #expect(loop.codes.take() == nil)
        #expect(loop.failure == .badParameter("cannot read the frame folder /nonexistent"))
    }

    @Test func aCameraThatCannotOpenSaysWhichAndWhy() throws {
        let loop = ScanLoop()
        loop.start { try V4L2Camera(CameraSettings(device: "/nonexistent/video9")) }
        loop.wait()
        guard case .camera(let device, let why, let code)? = loop.failure else {
            Issue.record("expected a camera error, got \(String(describing: loop.failure))")
            return
        }
        #expect(device == "/nonexistent/video9" && !why.isEmpty)
        // The failed open(2)'s own code comes with zbar's words.
        #expect(code == ENOENT, "\(why)")
    }

    @Test func aSpentBudgetSkipsTheRemainingPasses() throws {
        try #require(QRScanner.zxingAvailable, "the budget spans several passes only with zxing built in")
        var image = GreyImage(width: 320, height: 240, fill: 220)
        image.paste(try QRMatrix.encode(text: "BUDGET").image(moduleSize: 4), x: 60, y: 40)
        var spent = try QRStreamScanner(decoders: .auto, budget: .zero)
        #expect(spent.scan(image).isEmpty && spent.skippedPasses == 1)
        var ample = try QRStreamScanner(decoders: .auto, budget: .seconds(1))
        #expect(ample.scan(image).map(\.text) == ["BUDGET"] && ample.skippedPasses == 0)
    }
}
