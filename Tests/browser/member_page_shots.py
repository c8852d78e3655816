#!/usr/bin/env python3
"""Opens the member pass page in headless chromium and screenshots its AG2 code.

    member_page_shots.py --profile DIR --out DIR [--shots N] [--timeout S] [--sign CREDENTIAL] URL

Chromium runs headless (`--headless=new`) with the given `--user-data-dir`, a phone-sized window
(412×915) and `--remote-debugging-pipe`: the DevTools protocol as NUL-terminated JSON on fds 3
(commands in) and 4 (replies out), so no websocket is needed. `--screenshot` alone is taken at the
load event, before the page's WebCrypto, IndexedDB and fetch have run, and virtual time does not
wait for them, so the script polls the page instead:

1. it waits until `document.title` is "AG2 ready", the `<img id="qr">` is loaded and decoded, and
   shows `window.agState.text` (and, for every shot after the first, a text not shot before: the
   page redraws its code every 10 s);
2. it takes `Page.captureScreenshot` (PNG), then reads the page's state again; a code redrawn in
   between discards the shot;
3. it writes `shot-N.png` and `shot-N.pgm` (8-bit grey, for the gateway's PGM reader: the PNG is
   decoded here with zlib, the standard library having no PNG reader).

`--sign CREDENTIAL` (base64url COSE bytes, another profile's credential) then has the page's own
functions (`agMember.ag2Text`) sign a proof for it with this profile's key, read from the page's
IndexedDB: the text a stolen credential would show with this browser's proof.

It prints one JSON object: {"shots": [{"png", "pgm", "text", "width", "height", "at"}],
"ready_s", "total_s", "signed"}, or, on failure, exits 1 with {"error", "page"} (and a screenshot of the
page as it was). Chromium is closed with `Browser.close`, and its process group SIGKILLed if it
lingers (children of the test runner inherit a blocked SIGTERM). Standard library only.
"""
import argparse
import base64
import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
import zlib

CHROMIUM = os.environ.get("AG_CHROMIUM", "/usr/bin/chromium")


class DevTools:
    """The DevTools protocol over chromium's pipe."""

    def __init__(self, profile, log_path):
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        # Above 4, so that moving them to 3 and 4 in the child cannot clobber one with the other.
        child_in, child_out = os.dup(cmd_r), os.dup(resp_w)
        while child_in <= 4 or child_out <= 4:
            child_in, child_out = os.dup(child_in), os.dup(child_out)

        def fds():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [
                CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--user-data-dir=" + profile, "--window-size=412,915", "--hide-scrollbars",
                "--no-first-run", "--no-default-browser-check", "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            preexec_fn=fds, pass_fds=(3, 4), start_new_session=True,
        )
        for fd in (cmd_r, resp_w, child_in, child_out):
            os.close(fd)
        self._buffer = b""
        self._next = 0

    def send(self, method, params=None, session=None, timeout=30):
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._next:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply["result"]
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._resp_r], [], [], left)[0]:
                raise TimeoutError(f"{method}: no reply in {timeout} s")
            chunk = os.read(self._resp_r, 1 << 20)
            if not chunk:
                raise RuntimeError(f"{method}: chromium closed the pipe (exit {self.process.poll()})")
            self._buffer += chunk

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:  # the browser's leftover children (renderer, zygote), and the browser if it hung
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        os.close(self._cmd_w)
        os.close(self._resp_r)
        self._log.close()


# Returns the page's state once the code it shows is on screen.
STATE = """(async () => {
  const qr = document.getElementById("qr");
  const state = window.agState || null;
  let shown = null;
  try { shown = new URL(qr.src).searchParams.get("text"); } catch (e) {}
  const drawn = !!(qr && !qr.hidden && qr.complete && qr.naturalWidth > 0);
  if (drawn) {
    try { await qr.decode(); } catch (e) {}
    // Two frames: the decoded image is composited before the screenshot.
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  }
  return JSON.stringify({
    title: document.title, state, shown, drawn,
    status: (document.getElementById("status") || {}).textContent || null,
  });
})()"""


# This profile's key, from the page's IndexedDB, signs a proof for another credential.
SIGN = """(async (credential) => {
  const request = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  const db = await request(indexedDB.open("ag-member", 1));
  const record = await request(db.transaction("keys", "readonly").objectStore("keys").get(document.body.dataset.member));
  db.close();
  return agMember.ag2Text(record.privateKey, agMember.fromBase64url(credential), Math.floor(Date.now() / 1000));
})(%s)"""


def page_state(tools, session):
    result = tools.send(
        "Runtime.evaluate",
        {"expression": STATE, "awaitPromise": True, "returnByValue": True},
        session=session,
    )
    value = result.get("result", {}).get("value")
    return json.loads(value) if isinstance(value, str) else {"evaluate": result}


def png_to_grey(data):
    """An 8-bit, non-interlaced PNG (grey, RGB, or with alpha) → (width, height, grey bytes)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    at, idat, header = 8, b"", None
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        at += 12 + length
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace != 0:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    grey = bytearray(width * height)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 255
        elif kind == 2:
            for i in range(stride):
                line[i] = (line[i] + previous[i]) & 255
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        elif kind != 0:
            raise ValueError(f"bad PNG filter {kind} on row {y}")
        row = y * width
        if channels <= 2:
            grey[row:row + width] = line[0::channels]
        else:
            for x in range(width):
                r, g, b = line[x * channels:x * channels + 3]
                grey[row + x] = (299 * r + 587 * g + 114 * b + 500) // 1000
        previous = line
    return width, height, bytes(grey)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", required=True, help="chromium's --user-data-dir")
    parser.add_argument("--out", required=True, help="folder for shot-N.png, shot-N.pgm, chromium.log")
    parser.add_argument("--shots", type=int, default=1, help="screenshots of distinct codes")
    parser.add_argument("--timeout", type=float, default=30, help="seconds for each shot")
    parser.add_argument("--sign", help="another credential (base64url) to sign a proof for with this key")
    parser.add_argument("url")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    begun = time.monotonic()
    tools = DevTools(args.profile, os.path.join(args.out, "chromium.log"))
    shots, ready_s, last, session = [], None, {}, None
    try:
        page = next(t for t in tools.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        session = tools.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        # A phone's viewport: chromium's headless window ignores --window-size for a new target.
        tools.send("Emulation.setDeviceMetricsOverride",
                   {"width": 412, "height": 915, "deviceScaleFactor": 1, "mobile": True}, session=session)
        tools.send("Page.navigate", {"url": args.url}, session=session)
        while len(shots) < args.shots:
            deadline = time.monotonic() + args.timeout
            while True:
                last = page_state(tools, session)
                text = (last.get("state") or {}).get("text")
                if (
                    last.get("title") == "AG2 ready" and last.get("drawn") and text
                    and last.get("shown") == text and text not in [s["text"] for s in shots]
                ):
                    break
                if (last.get("state") or {}).get("error") and not shots:
                    raise RuntimeError("the page failed: " + last["state"]["error"])
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no new code on screen in {args.timeout} s")
                time.sleep(0.1)
            if ready_s is None:
                ready_s = time.monotonic() - begun
            png = base64.b64decode(tools.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"])
            after = page_state(tools, session)
            if (after.get("state") or {}).get("text") != text or after.get("shown") != text:
                continue  # redrawn while the shot was taken
            n = len(shots) + 1
            png_path = os.path.join(args.out, f"shot-{n}.png")
            pgm_path = os.path.join(args.out, f"shot-{n}.pgm")
            with open(png_path, "wb") as f:
                f.write(png)
            width, height, grey = png_to_grey(png)
            with open(pgm_path, "wb") as f:
                f.write(b"P5\n%d %d\n255\n" % (width, height) + grey)
            shots.append({
                "png": png_path, "pgm": pgm_path, "text": text, "width": width, "height": height,
                "at": round(time.monotonic() - begun, 3),
            })
        signed = None
        if args.sign:
            result = tools.send("Runtime.evaluate", {"expression": SIGN % json.dumps(args.sign), "awaitPromise": True,
                                                     "returnByValue": True}, session=session)
            signed = result.get("result", {}).get("value")
            if not isinstance(signed, str):
                raise RuntimeError(f"signing failed: {result}")
    except Exception as error:
        try:
            failed = base64.b64decode(tools.send("Page.captureScreenshot", {"format": "png"}, session=session,
                                                 timeout=5)["data"])
            with open(os.path.join(args.out, "failed.png"), "wb") as f:
                f.write(failed)
        except Exception:
            pass
        tools.close()
        print(json.dumps({"error": f"{type(error).__name__}: {error}", "page": last, "shots": shots}))
        return 1
    tools.close()
    print(json.dumps({"shots": shots, "ready_s": round(ready_s, 3), "total_s": round(time.monotonic() - begun, 3),
                      "signed": signed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
