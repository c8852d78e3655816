import Foundation
import Synchronization

/// Something that yields greyscale frames: a camera, a folder of PGM files, a raw stream.
/// Not thread-safe: one capture thread pulls from it.
public protocol FrameSource: AnyObject {
    /// The next frame, blocking until it is due; nil when the source has ended.
    func nextFrame() throws(QRCodecError) -> GreyImage?
}

/// Plays the PGM files of a folder, in name order, at a given frame rate: a camera for tests and
/// the demo.
public final class PGMFolderSource: FrameSource {
    private let files: [URL]
    private let interval: Duration
    private let loop: Bool
    private var index = 0
    private var due: ContinuousClock.Instant?

    /// `fps` of 0 plays as fast as frames are taken.
    public init(folder: String, fps: Double, loop: Bool = false) throws(QRCodecError) {
        let url = URL(fileURLWithPath: folder)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw .badParameter("cannot read the frame folder \(folder)")
        }
        files = names.filter { $0.hasSuffix(".pgm") }.sorted().map { url.appendingPathComponent($0) }
        guard !files.isEmpty else { throw .badParameter("no .pgm frames in \(folder)") }
        guard fps >= 0 && fps <= 1000 else { throw .badParameter("frame rate \(fps) is not in 0…1000") }
        interval = fps > 0 ? .nanoseconds(Int64(1e9 / fps)) : .zero
        self.loop = loop
    }

    public func nextFrame() throws(QRCodecError) -> GreyImage? {
        if index == files.count {
            guard loop else { return nil }
            index = 0
        }
        let clock = ContinuousClock()
        if let due, interval > .zero { clock.sleepBlocking(until: due) }
        due = (due ?? clock.now) + interval
        let data: Data
        do { data = try Data(contentsOf: files[index]) } catch { throw .pgm("cannot read \(files[index].path)") }
        index += 1
        return try PGM.parse(Array(data))
    }
}

extension ContinuousClock {
    /// Sleeps the calling thread (the capture thread is not a task).
    fileprivate func sleepBlocking(until deadline: Instant) {
        let remaining = now.duration(to: deadline)
        guard remaining > .zero else { return }
        Thread.sleep(
            forTimeInterval: Double(remaining.components.seconds) + Double(remaining.components.attoseconds) / 1e18
        )
    }
}

/// Raw Y800 frames of a fixed size from a file descriptor (standard input by default), for
/// piping from `ffmpeg -f rawvideo -pix_fmt gray` or a test.
public final class Y800StreamSource: FrameSource {
    private let handle: FileHandle
    public let width: Int
    public let height: Int

    public init(width: Int, height: Int, handle: FileHandle = .standardInput) throws(QRCodecError) {
        guard (16...8192).contains(width), (16...8192).contains(height) else {
            throw .badParameter("frame size \(width)×\(height) is not in 16…8192")
        }
        self.width = width
        self.height = height
        self.handle = handle
    }

    /// Nil at the end of the stream; a short last frame is an error, not a frame.
    public func nextFrame() throws(QRCodecError) -> GreyImage? {
        let size = width * height
        var frame = Data()
        while frame.count < size {
            let chunk = handle.readData(ofLength: size - frame.count)
            if chunk.isEmpty { break }
            frame.append(chunk)
        }
        if frame.isEmpty { return nil }
        guard frame.count == size else { throw .frameSize(expected: size, actual: frame.count) }
        return try GreyImage(width: width, height: height, pixels: Array(frame))
    }
}
