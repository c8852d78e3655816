import CZBar
import Foundation
import Glibc

/// The pixel formats a door camera may deliver. zbar, through libv4l2, turns each into greyscale.
public enum CameraPixelFormat: String, Sendable, CaseIterable, Codable {
    /// 8-bit greyscale: no conversion at all.
    case grey = "GREY"
    /// Packed YUV 4:2:2, what most USB cameras give uncompressed; the luma is taken.
    case yuyv = "YUYV"
    /// Motion JPEG, for cameras that give large frames only compressed; decoded by libjpeg.
    case mjpeg = "MJPG"

    /// The V4L2 four-character code.
    public var fourcc: UInt32 { fourCC(rawValue) }
}

/// Packs a four-character code the way `v4l2_fourcc()` and `zbar_fourcc()` do.
func fourCC(_ text: String) -> UInt32 {
    text.utf8.prefix(4).enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
}

/// Unpacks a four-character code for display.
func fourCCText(_ code: UInt32) -> String {
    String(decoding: (0..<4).map { UInt8((code >> (8 * $0)) & 0xFF) }, as: UTF8.self)
        .trimmingCharacters(in: .whitespaces)
}

/// What a door camera is asked for. The driver may adjust size and frame rate; ``V4L2Camera``
/// reports what it got.
public struct CameraSettings: Sendable, Equatable {
    /// The device node, e.g. `/dev/video0` or the udev link `/dev/door-camera-front`.
    public var device: String
    public var width: Int
    public var height: Int
    /// Frames per second requested from the driver (`VIDIOC_S_PARM`).
    public var fps: Double
    public var format: CameraPixelFormat
    /// V4L2 controls to set at open, by their V4L2 names, any case: `Brightness`,
    /// `Auto Exposure`, vivid's `Loop Video` (`gatewayctl camera list` shows them).
    public var controls: [String: Int]
    /// How long a frame may take before the camera counts as failed.
    public var frameTimeout: Duration

    public init(
        device: String = "/dev/video0",
        width: Int = 640,
        height: Int = 480,
        fps: Double = 30,
        format: CameraPixelFormat = .yuyv,
        controls: [String: Int] = [:],
        frameTimeout: Duration = .seconds(2)
    ) {
        self.device = device
        self.width = width
        self.height = height
        self.fps = fps
        self.format = format
        self.controls = controls
        self.frameTimeout = frameTimeout
    }
}

/// A V4L2 camera read through zbar's video API (`zbar_video_*`), frames converted to greyscale.
///
/// It owns its `zbar_video_t` and is not thread-safe: one capture thread reads it. Capture stops
/// and the device closes in `deinit`.
public final class V4L2Camera: FrameSource {
    private let video: OpaquePointer
    private let fd: Int32
    public let settings: CameraSettings
    /// The frame size the driver chose.
    public let width: Int
    public let height: Int
    /// The frame rate the driver reports after the request, when it supports setting one.
    public let fps: Double?

    /// Opens `settings.device`, applies its controls, format, size and rate, and starts capture.
    public init(_ settings: CameraSettings) throws(QRCodecError) {
        guard (16...8192).contains(settings.width), (16...8192).contains(settings.height) else {
            throw .badParameter("camera frame size \(settings.width)×\(settings.height) is not in 16…8192")
        }
        guard settings.fps > 0, settings.fps <= 240 else {
            throw .badParameter("camera frame rate \(settings.fps) is not in 0…240")
        }
        guard let video = zbar_video_create() else { throw .scannerUnavailable }
        self.video = video
        self.settings = settings
        zbar_video_request_size(video, UInt32(settings.width), UInt32(settings.height))
        guard zbar_video_open(video, settings.device) == 0 else {
            let error = Self.failure(video, settings.device)
            zbar_video_destroy(video)
            throw error
        }
        fd = zbar_video_get_fd(video)
        do {
            let known = Self.controlNames(video)
            for (name, value) in settings.controls.sorted(by: { $0.key < $1.key }) {
                // zbar dereferences a null pointer for a name it does not know, so never pass one.
                guard known.contains(where: { $0.lowercased() == name.lowercased() }) else {
                    throw QRCodecError.camera(
                        device: settings.device,
                        "no control named \"\(name)\"; it has: \(known.joined(separator: ", "))"
                    )
                }
                guard zbar_video_set_control(video, name, Int32(value)) == 0 else {
                    throw QRCodecError.camera(device: settings.device, "cannot set control \(name)=\(value)")
                }
            }
            // The rate is asked for before the format, while no buffers exist; not every driver takes one.
            fps = fd >= 0 ? try? V4L2.setFrameRate(fd, settings.fps) : nil
            guard zbar_video_init(video, UInt(settings.format.fourcc)) == 0 else {
                throw Self.failure(
                    video,
                    settings.device,
                    "format \(settings.format.rawValue) at \(settings.width)×\(settings.height): "
                )
            }
            guard zbar_video_enable(video, 1) == 0 else {
                throw Self.failure(video, settings.device, "cannot start capture: ")
            }
        } catch let error as QRCodecError {
            zbar_video_destroy(video)
            throw error
        } catch {
            zbar_video_destroy(video)
            throw .camera(device: settings.device, "\(error)")
        }
        width = Int(zbar_video_get_width(video))
        height = Int(zbar_video_get_height(video))
    }

    deinit {
        zbar_video_enable(video, 0)
        zbar_video_destroy(video)
    }

    /// The next frame, waiting at most the frame timeout for it. A camera never ends; a silent or
    /// failed one throws.
    public func nextFrame() throws(QRCodecError) -> GreyImage? {
        if fd >= 0 {
            guard try V4L2.waitReadable(fd, timeout: settings.frameTimeout) else {
                throw .camera(device: settings.device, "no frame in \(settings.frameTimeout)")
            }
        }
        guard let image = zbar_video_next_image(video) else {
            throw .camera(device: settings.device, "capture failed: \(Self.zbarError(video))")
        }
        // Destroying the captured image hands its buffer back to the driver.
        defer { zbar_image_destroy(image) }
        guard let grey = zbar_image_convert(image, UInt(fourCC("Y800"))) else {
            throw .camera(
                device: settings.device,
                "zbar cannot convert \(settings.format.rawValue) frames to greyscale"
            )
        }
        defer { zbar_image_destroy(grey) }
        let width = Int(zbar_image_get_width(grey))
        let height = Int(zbar_image_get_height(grey))
        let length = Int(zbar_image_get_data_length(grey))
        guard let data = zbar_image_get_data(grey), length >= width * height else {
            throw .frameSize(expected: width * height, actual: length)
        }
        let pixels = Array(UnsafeRawBufferPointer(start: data, count: width * height))
        return try GreyImage(width: width, height: height, pixels: pixels)
    }

    /// The names of the device's controls, as zbar lists them (`zbar_video_get_controls`).
    static func controlNames(_ video: OpaquePointer) -> [String] {
        var names: [String] = []
        var index: Int32 = 0
        while let control = zbar_video_get_controls(video, index) {
            if let name = control.pointee.name { names.append(String(cString: name)) }
            index += 1
        }
        return names
    }

    /// The camera error for a zbar call that just failed: `context`, then zbar's words. `errno` is
    /// read first, before anything can overwrite it, and kept only when zbar reports a system
    /// error: then it is the code of the call zbar's words name, and EBUSY is told by it.
    private static func failure(
        _ video: OpaquePointer,
        _ device: String,
        _ context: @autoclosure () -> String = ""
    ) -> QRCodecError {
        let code = errno
        let system = zbar_video_get_error_code(video) == ZBAR_ERR_SYSTEM
        return .camera(device: device, context() + zbarError(video), errno: system ? code : nil)
    }

    private static func zbarError(_ video: OpaquePointer) -> String {
        guard let text = zbar_video_error_string(video, 0) else { return "unknown zbar video error" }
        // zbar's text spans lines and starts "WARNING: zbar video in ...": make it one line.
        let words = String(cString: text).split(whereSeparator: \.isWhitespace)
        return words.drop { $0 == "WARNING:" || $0 == "ERROR:" }.joined(separator: " ")
    }
}
