import CZBar
import Foundation
import Glibc

/// The few V4L2 ioctls zbar's video API lacks: listing formats, sizes and rates, and setting the
/// frame rate. Everything else goes through zbar.
enum V4L2 {
    /// `ioctl(2)` on a V4L2 node, retried on EINTR; `errno` is read at once and thrown.
    static func ioctl(
        _ fd: Int32,
        _ request: UInt,
        _ argument: UnsafeMutableRawPointer,
        _ what: String
    )
        throws(QRCodecError)
    {
        while Glibc.ioctl(fd, request, argument) == -1 {
            let code = errno
            if code == EINTR { continue }
            throw .system(call: what, errno: code)
        }
    }

    /// Like ``ioctl(_:_:_:_:)``, but an enumeration's end (`EINVAL`) is `false`, not an error.
    static func enumerate(
        _ fd: Int32,
        _ request: UInt,
        _ argument: UnsafeMutableRawPointer,
        _ what: String
    )
        throws(QRCodecError) -> Bool
    {
        do {
            try ioctl(fd, request, argument, what)
            return true
        } catch .system(_, let code) where code == EINVAL {
            return false
        }
    }

    /// `poll(2)` for one readable descriptor; false on timeout.
    static func waitReadable(_ fd: Int32, timeout: Duration) throws(QRCodecError) -> Bool {
        let milliseconds = Int32(
            clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        )
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&entry, 1, milliseconds)
            if ready >= 0 { return ready > 0 }
            let code = errno
            if code != EINTR { throw .system(call: "poll", errno: code) }
        }
    }

    /// Asks for `fps` frames per second (`VIDIOC_S_PARM`); returns the rate the driver set.
    static func setFrameRate(_ fd: Int32, _ fps: Double) throws(QRCodecError) -> Double {
        var parm = v4l2_streamparm()
        parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        try ioctl(fd, AG_VIDIOC_G_PARM, &parm, "VIDIOC_G_PARM")
        guard parm.parm.capture.capability & UInt32(V4L2_CAP_TIMEPERFRAME) != 0 else {
            throw .badParameter("the driver has a fixed frame rate")
        }
        parm.parm.capture.timeperframe = v4l2_fract(numerator: 1000, denominator: UInt32((fps * 1000).rounded()))
        try ioctl(fd, AG_VIDIOC_S_PARM, &parm, "VIDIOC_S_PARM")
        let set = parm.parm.capture.timeperframe
        return set.numerator > 0 ? Double(set.denominator) / Double(set.numerator) : fps
    }

    /// A fixed-size C character array (a tuple in Swift) as text.
    static func text<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

/// One V4L2 capture device, as `gatewayctl camera list` shows it.
public struct CameraDevice: Sendable, Equatable, Codable {
    /// One pixel format with the sizes and frame rates the driver lists for it.
    public struct Format: Sendable, Equatable, Codable {
        public var fourcc: String
        public var description: String
        /// Whether the gateway can read it (``CameraPixelFormat``).
        public var supported: Bool
        public var sizes: [Size]
    }

    public struct Size: Sendable, Equatable, Codable {
        public var width: Int
        public var height: Int
        /// Discrete rates, highest first; empty when the driver lists none.
        public var fps: [Double]
    }

    public var path: String
    public var driver: String
    public var card: String
    public var bus: String
    public var formats: [Format]
}

/// Lists the video capture devices of this machine.
public enum CameraInventory {
    /// Every `/dev/video*` node that captures video, in number order. Nodes that only output, or
    /// give metadata (a UVC camera's second node), are left out; nodes that cannot be opened are
    /// reported with the reason.
    public static func list(under directory: String = "/dev") -> (devices: [CameraDevice], problems: [String]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let nodes = names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("video"), let number = Int(name.dropFirst(5)) else { return nil }
            return (number, "\(directory)/\(name)")
        }.sorted { $0.0 < $1.0 }
        var devices: [CameraDevice] = []
        var problems: [String] = []
        for (_, path) in nodes {
            do {
                if let device = try describe(path) { devices.append(device) }
            } catch {
                problems.append("\(path): \(error)")
            }
        }
        return (devices, problems)
    }

    /// The device at `path`, or nil when it does not capture video.
    public static func describe(_ path: String) throws(QRCodecError) -> CameraDevice? {
        let fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .system(call: "open \(path)", errno: errno) }
        defer { close(fd) }
        var caps = v4l2_capability()
        try V4L2.ioctl(fd, AG_VIDIOC_QUERYCAP, &caps, "VIDIOC_QUERYCAP")
        let nodeCaps = caps.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0 ? caps.device_caps : caps.capabilities
        guard nodeCaps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0 else { return nil }
        var formats: [CameraDevice.Format] = []
        var fmt = v4l2_fmtdesc()
        fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        while try V4L2.enumerate(fd, AG_VIDIOC_ENUM_FMT, &fmt, "VIDIOC_ENUM_FMT") {
            formats.append(
                CameraDevice.Format(
                    fourcc: fourCCText(fmt.pixelformat),
                    description: V4L2.text(fmt.description),
                    supported: CameraPixelFormat(rawValue: fourCCText(fmt.pixelformat)) != nil,
                    sizes: try sizes(fd, fmt.pixelformat)
                )
            )
            fmt.index += 1
        }
        return CameraDevice(
            path: path,
            driver: V4L2.text(caps.driver),
            card: V4L2.text(caps.card),
            bus: V4L2.text(caps.bus_info),
            formats: formats
        )
    }

    private static func sizes(_ fd: Int32, _ format: UInt32) throws(QRCodecError) -> [CameraDevice.Size] {
        var sizes: [CameraDevice.Size] = []
        var size = v4l2_frmsizeenum()
        size.pixel_format = format
        while try V4L2.enumerate(fd, AG_VIDIOC_ENUM_FRAMESIZES, &size, "VIDIOC_ENUM_FRAMESIZES") {
            guard size.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue else {
                // A stepwise range: report its two ends.
                let range = size.stepwise
                for (w, h) in [(range.min_width, range.min_height), (range.max_width, range.max_height)] {
                    sizes.append(CameraDevice.Size(width: Int(w), height: Int(h), fps: try rates(fd, format, w, h)))
                }
                break
            }
            let (w, h) = (size.discrete.width, size.discrete.height)
            sizes.append(CameraDevice.Size(width: Int(w), height: Int(h), fps: try rates(fd, format, w, h)))
            size.index += 1
        }
        return sizes
    }

    private static func rates(
        _ fd: Int32,
        _ format: UInt32,
        _ width: UInt32,
        _ height: UInt32
    ) throws(QRCodecError)
        -> [Double]
    {
        var rates: [Double] = []
        var interval = v4l2_frmivalenum()
        interval.pixel_format = format
        interval.width = width
        interval.height = height
        while try V4L2.enumerate(fd, AG_VIDIOC_ENUM_FRAMEINTERVALS, &interval, "VIDIOC_ENUM_FRAMEINTERVALS") {
            guard interval.type == V4L2_FRMIVAL_TYPE_DISCRETE.rawValue else { break }
            let fraction = interval.discrete
            if fraction.numerator > 0 { rates.append(Double(fraction.denominator) / Double(fraction.numerator)) }
            interval.index += 1
        }
        return rates.sorted(by: >)
    }
}
