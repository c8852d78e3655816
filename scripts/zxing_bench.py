#!/usr/bin/env python3
"""Times zxing-cpp's Python binding (pip `zxing-cpp`) on a qrcorpus manifest: the third-party
decode anchor of make bench, beside plain zbar (zbar_bench.c).

    python3 scripts/zxing_bench.py MANIFEST CORPUS_DIR OUT.csv [REPEATS]

Like zbar_bench.c: the expected text of payload key K is CORPUS_DIR/payload_K.txt; each frame is
decoded once untimed, then REPEATS times timed (`read_barcodes` alone, QR only, the binding's
defaults: rotations, downscaling and inverted codes tried); success is a symbol whose bytes equal
the payload. Writes `decoder,id,ok,wrong,median_ms`. Exit 3 when the package is not installed.
"""
import csv
import importlib.metadata
import os
import statistics
import sys
import time

try:
    import numpy as np
    import zxingcpp
except ImportError as error:
    print(f"zxing_bench: {error}; pip install zxing-cpp numpy", file=sys.stderr)
    sys.exit(3)


def read_pgm(path):
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:  # magic, width, height, maxval, with comments skipped
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b"P5" and fields[3] == b"255", f"{path}: not an 8-bit P5 PGM"
    width, height = int(fields[1]), int(fields[2])
    return np.frombuffer(data, np.uint8, width * height, pos + 1).reshape(height, width)


def main():
    manifest, corpus, out = sys.argv[1:4]
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    name = f"zxing-cpp {importlib.metadata.version('zxing-cpp')} (pip)"
    expected = {}
    with open(manifest) as f, open(out, "w", newline="") as o:
        writer = csv.writer(o)
        writer.writerow(["decoder", "id", "ok", "wrong", "median_ms"])
        reader = csv.reader(f, delimiter="\t")
        next(reader)
        for row in reader:
            fid, path, key = row[0], row[1], row[4]
            if key not in expected:
                expected[key] = open(os.path.join(corpus, f"payload_{key}.txt"), "rb").read()
            image = read_pgm(path if os.path.isabs(path) else os.path.join(corpus, path))
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
                times.append((time.perf_counter() - start) * 1000)
            ok = any(b.bytes == expected[key] for b in found)
            wrong = not ok and len(found) > 0
            writer.writerow([name, fid, int(ok), int(wrong), f"{statistics.median(times):.4f}"])
    print(f"zxing_bench: {name} -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
