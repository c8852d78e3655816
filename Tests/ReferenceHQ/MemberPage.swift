import Foundation
import Hummingbird

/// The member pass page, `GET /m/{member}`: one self-contained, mobile-first HTML page. Its script
/// (``MemberPageScript``) makes a device key, registers it for a bound credential and shows the
/// rotating AG2 code, drawn by `/qr.svg`. No login: a reference for development and tests only.
struct MemberPage {
    /// Inline script and style; images (the QR) and requests (the credential) from HQ only.
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'; img-src 'self'"

    var member: String

    func render() -> String {
        Self.head(title: "Member pass")
            + """
            <body data-member="\(escape(member))">
            <main>
            <h1>Member pass</h1>
            <p class="member">Member <strong>\(escape(member))</strong></p>
            <div class="code">
            <img id="qr" alt="Your door pass: show it to the door camera" hidden>
            <p id="status" class="status" role="status">Setting up this device…</p>
            </div>
            <p id="countdown" class="countdown"></p>
            <p class="hint">Turn your screen brightness up; hold the phone 20–40 cm from the camera.</p>
            <output id="ag2-text" hidden></output>
            <noscript><p class="error">This page needs JavaScript to show your pass.</p></noscript>
            <p class="note">Development reference (access-hq-dev): this page has no login.</p>
            </main>
            <script>
            \(MemberPageScript.source)
            </script>
            </body></html>

            """
    }

    /// The page for a member HQ does not know, or has blocked.
    static func notFound(member: String, reason: String) -> String {
        head(title: "No such member")
            + """
            <body><main>
            <h1>No pass for \(escape(member))</h1>
            <p class="error">\(escape(reason))</p>
            <p>Check the link, or ask the front desk.</p>
            <p class="note">Development reference (access-hq-dev): this page has no login.</p>
            </main></body></html>

            """
    }

    private static func head(title: String) -> String {
        """
        <!doctype html>
        <!-- access-hq-dev member pass page. It has no login: anyone who knows a member id can register
             a device and get that member's credential. It is a reference for development and tests,
             not production. -->
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light">
        <title>\(escape(title)) · access-hq-dev</title>
        <style>
        html { background: #fff; color: #000; }
        [hidden] { display: none !important; }
        body { margin: 0; font: 18px/1.4 system-ui, sans-serif; }
        main { max-width: 36rem; margin: 0 auto; padding: 1rem; text-align: center; }
        h1 { font-size: 1.3rem; margin: 0.25rem 0; }
        .member { margin: 0.25rem 0; }
        .code { width: min(90vw, 72vh, 36rem); aspect-ratio: 1; margin: 0.5rem auto; background: #fff;
          display: flex; align-items: center; justify-content: center; }
        .code img { display: block; width: 100%; height: 100%; }
        .status { font-size: 1.2rem; padding: 1rem; }
        .countdown { font-size: 1.6rem; font-weight: 700; font-variant-numeric: tabular-nums;
          min-height: 1.4em; margin: 0.25rem 0; }
        .hint { font-size: 1.05rem; }
        .error { color: #a00; font-weight: 700; }
        .note { color: #555; font-size: 0.8rem; }
        </style></head>

        """
    }

    /// The page's response: HTML, never cached (it holds no secret, but it must be current).
    static func reply(_ html: String, status: HTTPResponse.Status) -> Response {
        var response = Reply.bytes(Array(html.utf8), contentType: "text/html; charset=utf-8", status: status)
        response.headers[.cacheControl] = "no-store"
        response.headers[HTTPFields.Element.Name("Content-Security-Policy")!] = contentSecurityPolicy
        response.headers[HTTPFields.Element.Name("Referrer-Policy")!] = "no-referrer"
        return response
    }
}
