#!/usr/bin/env python3
"""A misbehaving HQ for the fault-injection tests (Tests/EndToEndTests/MisbehavingHQTests.swift).

    bad_hq.py MODE PORT [UPSTREAM]

Listens on 127.0.0.1:PORT and answers every request according to MODE:

  500        500 with a JSON error body.
  garbage    200 with something the gateway must refuse, rotating per request: random bytes,
             invalid JSON, JSON of the wrong shape, a non-COSE "snapshot", an out-of-range ack.
  slow       slowloris in the body: the head at once with a Content-Length of 1000, then one body
             byte every 2 s.
  slowhead   slowloris in the head: the status line and headers one byte every 2 s.
  slowgood   a good answer to /v1/commands (no commands), dated when its head is sent, whose
             body then takes about 7 s to arrive (a slow link): not a clock that is off.
  hold       reads the request and never answers (the connection stays open).
  truncated  a Content-Length of 1000, 10 bytes of body, then the connection is closed.
  tls        a TLS server with a self-signed certificate (made with the openssl CLI) that the
             gateway cannot verify. Without the openssl CLI it exits 3 naming the Debian package
             (scripts/install-deps.sh installs it): never a quiet fallback to plain HTTP.
  plain      plain HTTP answering 200 '{}' (the target of an https:// URL: a handshake failure).
  fastempty  /v1/commands answered at once, ignoring `wait`, with no commands (a long-poll that
             does not wait); other paths 500.
  clock      a proxy to UPSTREAM (the reference HQ) whose Date header is a day ahead
             (PORT may be followed by UPSTREAM and an offset in seconds: clock PORT UPSTREAM -86400).
  proxy      a faithful proxy to UPSTREAM (proxy PORT UPSTREAM DELAY) that holds each answer to
             an audit upload DELAY seconds after HQ gave it: HQ has stored the batch, the gateway
             does not know yet (the crash trials' window for a lost acknowledgement).
  redirect   302 to the same path on UPSTREAM (redirect PORT UPSTREAM): a redirect to another
             loopback URL, which the gateway must refuse.
  tlsredirect  `redirect` over TLS (tlsredirect PORT UPSTREAM CERT_OUT), with a self-signed
             certificate for 127.0.0.1 copied to CERT_OUT, so that a test client can trust it: an
             HTTPS HQ that sends the gateway to plain HTTP.
  cutchunks  a proxy to UPSTREAM (cutchunks PORT UPSTREAM N) that passes the first N snapshot
             chunks, then cuts every later chunk halfway (Content-Length whole, half the body,
             connection closed): a link lost in the middle of a transfer.
  baddelta   a proxy to UPSTREAM that spoils the signature of every answer to
             GET /v1/snapshot?since=… (a delta the gateway must refuse); other answers are HQ's.

Proxies to UPSTREAM that break one rule of docs/hq-protocol.md each, for `gatewayctl hq check`
(Tests/EndToEndTests/HQCheckTests.swift); other answers are HQ's:
  badsig     spoils the signature of every signed snapshot answer.
  noetag     drops the ETag header of snapshot answers.
  dupupload  acknowledges every audit upload as all newly stored, none duplicates.
  oldhead    answers GET /v1/events/head with seq 0 and the genesis hash, whatever HQ holds.
  nowait     forwards GET /v1/commands with wait=0: a long poll that does not wait.
  plainerrors  every error answer (4xx) as text/plain "error", without the JSON error body.

Every request is logged on standard output, one line each, flushed at once:
    REQ <monotonic seconds> <METHOD> <PATH>
every accepted connection as
    CONN <monotonic seconds>
and, by the proxies, each answer HQ gave and each answer passed on to the gateway as
    ACK <monotonic seconds> <PATH>
    SENT <monotonic seconds> <PATH>
Python standard library only (plus the openssl CLI for `tls`).
"""
import email.utils
import http.client
import http.server
import json
import os
import random
import re
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time

MODE = sys.argv[1]
PORT = int(sys.argv[2])
UPSTREAM = sys.argv[3] if len(sys.argv) > 3 else None
OFFSET = float(sys.argv[4]) if len(sys.argv) > 4 and MODE == "clock" else (86400.0 if MODE == "clock" else 0.0)
DELAY = float(sys.argv[4]) if len(sys.argv) > 4 and MODE == "proxy" else 0.0
CUT_AFTER = int(sys.argv[4]) if len(sys.argv) > 4 and MODE == "cutchunks" else 0
CERT_OUT = sys.argv[4] if len(sys.argv) > 4 and MODE == "tlsredirect" else None
CHUNKS_PASSED = [0]
LOG_LOCK = threading.Lock()
TLS_CONTEXT = None
COUNTER = [0]


def log(*parts):
    with LOG_LOCK:
        sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
        sys.stdout.flush()


def http_date(offset=0.0):
    return email.utils.formatdate(time.time() + offset, usegmt=True)


def next_variant():
    with LOG_LOCK:
        COUNTER[0] += 1
        return COUNTER[0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # No Date of its own: each mode sets the headers it wants.

    def log_message(self, *args):
        pass

    def setup(self):
        if TLS_CONTEXT is not None:
            # The handshake runs here, on the connection's thread: a client that refuses the
            # certificate fails it, and the accept loop goes on.
            self.request = TLS_CONTEXT.wrap_socket(self.request, server_side=True)
            self.connection = self.request
        super().setup()

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, body, content_type="application/json", date_offset=0.0, extra=()):
        self.send_response_only(status)
        self.send_header("Date", http_date(date_offset))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def handle_any(self):
        log("REQ", f"{time.monotonic():.3f}", self.command, self.path)
        body = self.read_body()
        handler = getattr(self, "mode_" + MODE.replace("-", "_"))
        try:
            handler(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = handle_any
    do_POST = handle_any

    # -- modes ----------------------------------------------------------------------------------

    def mode_500(self, body):
        self.answer(500, b'{"error":"internal","message":"the bad HQ fails on purpose"}')

    def mode_garbage(self, body):
        variant = next_variant() % 5
        if variant == 0:
            self.answer(200, os.urandom(300), content_type="application/octet-stream")
        elif variant == 1:
            self.answer(200, b'{"acked_seq": 12, "commands": [', content_type="application/json")
        elif variant == 2:
            self.answer(200, b'["not", "an", "object"]')
        elif variant == 3:
            # Looks like a signed snapshot by its content type and ETag, but is no COSE_Sign1.
            self.answer(200, b"\xd2\x84" + os.urandom(60), content_type="application/cose", extra=[("ETag", '"99"')])
        else:
            # An acknowledgement for a seq far beyond anything sent, and commands of the wrong type.
            self.answer(200, b'{"acked_seq": 99999999, "stored": 1, "duplicates": 0, "commands": "x", "cursor": 3}')

    def mode_plain(self, body):
        self.answer(200, b"{}")

    def mode_fastempty(self, body):
        if self.path.startswith("/v1/commands"):
            self.answer(200, b'{"commands": [], "cursor": 0}')
        else:
            self.answer(500, b'{"error":"internal","message":"only commands answer"}')

    def mode_slow(self, body):
        self.send_response_only(200)
        self.send_header("Date", http_date())
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.flush()
        self.trickle(b"{" + b" " * 999)

    def mode_slowgood(self, body):
        answer = b'{"commands": [], "cursor": 0}' + b" " * 20
        self.send_response_only(200)
        self.send_header("Date", http_date())
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.flush()
        for byte in answer:
            time.sleep(0.15)
            self.wfile.write(bytes([byte]))
            self.wfile.flush()

    def mode_slowhead(self, body):
        head = (
            "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
            % http_date()
        ).encode()
        self.trickle(head)

    def trickle(self, data):
        for byte in data:
            time.sleep(2)
            self.wfile.write(bytes([byte]))
            self.wfile.flush()

    def mode_hold(self, body):
        # Never answers; the client has to give up by itself.
        while True:
            time.sleep(3600)

    def mode_truncated(self, body):
        self.send_response_only(200)
        self.send_header("Date", http_date())
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b'{"acked_se')
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def mode_tls(self, body):
        self.answer(200, b'{"commands": [], "cursor": 0}')

    def mode_clock(self, body):
        host, _, port = UPSTREAM.replace("http://", "").partition(":")
        upstream = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        forwarded = self.path
        if MODE == "nowait" and forwarded.startswith("/v1/commands"):
            forwarded = re.sub(r"wait=[0-9]+", "wait=0", forwarded)
        try:
            upstream.request(self.command, forwarded, body=body or None, headers=headers)
            reply = upstream.getresponse()
            data = reply.read()
        except OSError as error:
            # HQ is down (killed by the test): a gateway behind a proxy sees a 502.
            self.answer(502, json.dumps({"error": "bad_gateway", "message": str(error)}).encode())
            return
        path = self.path.split("?")[0]
        log("ACK", f"{time.monotonic():.3f}", path)
        if DELAY and self.command == "POST" and path == "/v1/events":
            time.sleep(DELAY)
        cut = False
        if MODE == "cutchunks" and "/chunks/" in path and reply.status == 200:
            with LOG_LOCK:
                CHUNKS_PASSED[0] += 1
                cut = CHUNKS_PASSED[0] > CUT_AFTER
        if MODE == "baddelta" and path == "/v1/snapshot" and "since=" in self.path and reply.status == 200:
            data = data[:-1] + bytes([data[-1] ^ 0x01])
        dropped = ("date", "content-length", "connection", "transfer-encoding")
        if MODE == "badsig" and path == "/v1/snapshot" and reply.status == 200:
            data = data[:-1] + bytes([data[-1] ^ 0x01])
        if MODE == "noetag":
            dropped += ("etag",)
        if MODE == "dupupload" and path == "/v1/events" and self.command == "POST" and reply.status == 200:
            ack = json.loads(data)
            ack["stored"], ack["duplicates"] = ack["stored"] + ack["duplicates"], 0
            data = json.dumps(ack).encode()
        if MODE == "oldhead" and path == "/v1/events/head" and reply.status == 200:
            data = json.dumps({"seq": 0, "hash": "0" * 64}).encode()
        if MODE == "plainerrors" and 400 <= reply.status < 500:
            dropped += ("content-type",)
            data = b"error"
            self.send_response_only(reply.status)
            self.send_header("Content-Type", "text/plain")
        else:
            self.send_response_only(reply.status)
        for name, value in reply.getheaders():
            if name.lower() not in dropped:
                self.send_header(name, value)
        self.send_header("Date", http_date(OFFSET))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            log("CUT", f"{time.monotonic():.3f}", path)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            upstream.close()
            return
        self.wfile.write(data)
        self.wfile.flush()
        log("SENT", f"{time.monotonic():.3f}", path)
        upstream.close()

    mode_proxy = mode_clock
    mode_cutchunks = mode_clock
    mode_baddelta = mode_clock
    mode_badsig = mode_clock
    mode_noetag = mode_clock
    mode_dupupload = mode_clock
    mode_oldhead = mode_clock
    mode_nowait = mode_clock
    mode_plainerrors = mode_clock

    def mode_redirect(self, body):
        self.answer(302, b"", extra=[("Location", UPSTREAM + self.path)])

    mode_tlsredirect = mode_redirect


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self):
        connection, address = self.socket.accept()
        log("CONN", f"{time.monotonic():.3f}")
        return connection, address

    def handle_error(self, request, client_address):
        # A failed handshake or a client that hung up: expected here, and not worth a traceback.
        log("ERR", f"{time.monotonic():.3f}", repr(sys.exc_info()[1])[:120])


def self_signed(folder):
    """A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    if not shutil.which("openssl"):
        fail("the openssl CLI is missing: install the Debian package openssl (scripts/install-deps.sh does)")
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    result = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
        capture_output=True,
    )
    if result.returncode != 0:
        fail("openssl req failed: " + result.stderr.decode(errors="replace").strip()[:300])
    return cert, key


def fail(message):
    """Ends the server before READY, so that the test fails with `message` instead of testing less."""
    log("FAIL", message)
    sys.exit(3)


def main():
    global TLS_CONTEXT
    server = Server(("127.0.0.1", PORT), Handler)
    if MODE in ("tls", "tlsredirect"):
        folder = tempfile.mkdtemp(prefix="bad-hq-")
        pair = self_signed(folder)
        TLS_CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        TLS_CONTEXT.load_cert_chain(*pair)
        if CERT_OUT:
            shutil.copyfile(pair[0], CERT_OUT)
        log("TLS", "self-signed")
        shutil.rmtree(folder, ignore_errors=True)
    log("READY", server.server_address[1])  # the port bound, also when 0 asked for any
    server.serve_forever()


if __name__ == "__main__":
    main()
