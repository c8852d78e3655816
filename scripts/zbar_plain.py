#!/usr/bin/env python3
"""Plain libzbar on a corpus whose payload keys are any names (realqr's are photo ids), the way
../shared/tools/qrcorpus/zbar_bench.c runs it (which knows only keys A and B).

    python3 scripts/zbar_plain.py MANIFEST CORPUS_DIR OUT.csv [REPEATS]

libzbar through ctypes, QR only, the library's defaults (density 1), and once more with
ZBAR_CFG_TEST_INVERTED. Success is a symbol whose bytes equal CORPUS_DIR/payload_KEY.txt.
Writes `decoder,id,ok,wrong,median_ms` like zbar_bench.c (decoders zbar_d1, zbar_d1_inv).
"""
import csv
import ctypes
import ctypes.util
import os
import statistics
import sys
import time

ZBAR_NONE, ZBAR_QRCODE = 0, 64
ZBAR_CFG_ENABLE, ZBAR_CFG_TEST_INVERTED = 0, 4
Y800 = 0x30303859


def load_zbar():
    name = ctypes.util.find_library("zbar") or "libzbar.so.0"
    z = ctypes.CDLL(name)
    z.zbar_image_scanner_create.restype = ctypes.c_void_p
    z.zbar_image_scanner_set_config.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    z.zbar_image_create.restype = ctypes.c_void_p
    z.zbar_image_set_format.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    z.zbar_image_set_size.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    z.zbar_image_set_data.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p]
    z.zbar_scan_image.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    z.zbar_image_first_symbol.argtypes = [ctypes.c_void_p]
    z.zbar_image_first_symbol.restype = ctypes.c_void_p
    z.zbar_symbol_next.argtypes = [ctypes.c_void_p]
    z.zbar_symbol_next.restype = ctypes.c_void_p
    z.zbar_symbol_get_type.argtypes = [ctypes.c_void_p]
    z.zbar_symbol_get_data.argtypes = [ctypes.c_void_p]
    z.zbar_symbol_get_data.restype = ctypes.c_void_p
    z.zbar_symbol_get_data_length.argtypes = [ctypes.c_void_p]
    z.zbar_symbol_get_data_length.restype = ctypes.c_uint
    z.zbar_image_destroy.argtypes = [ctypes.c_void_p]
    return z


def read_pgm(path):
    with open(path, "rb") as f:
        data = f.read()
    parts = data.split(maxsplit=4)  # P5, width, height, maxval, pixels (the writers here add no comments)
    assert parts[0] == b"P5" and parts[3] == b"255", f"{path}: not an 8-bit P5 PGM"
    width, height = int(parts[1]), int(parts[2])
    return width, height, data[len(data) - width * height:]


def main():
    manifest, corpus, out = sys.argv[1:4]
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    z = load_zbar()
    scanners = {}
    for name, inverted in (("zbar_d1", 0), ("zbar_d1_inv", 1)):
        scanner = z.zbar_image_scanner_create()
        z.zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0)
        z.zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1)
        z.zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_TEST_INVERTED, inverted)
        scanners[name] = scanner
    with open(manifest, newline="") as f, open(out, "w", newline="") as o:
        writer = csv.writer(o)
        writer.writerow(["decoder", "id", "ok", "wrong", "median_ms"])
        reader = csv.reader(f, delimiter="\t")
        next(reader)
        for row in reader:
            fid, path, key = row[0], row[1], row[4]
            expected = open(os.path.join(corpus, f"payload_{key}.txt"), "rb").read()
            width, height, pixels = read_pgm(path if os.path.isabs(path) else os.path.join(corpus, path))
            buffer = ctypes.create_string_buffer(pixels, len(pixels))
            for name, scanner in scanners.items():
                image = z.zbar_image_create()
                z.zbar_image_set_format(image, Y800)
                z.zbar_image_set_size(image, width, height)
                z.zbar_image_set_data(image, buffer, len(pixels), None)
                times, texts = [], []
                for _ in range(repeats):
                    start = time.perf_counter()
                    z.zbar_scan_image(scanner, image)
                    times.append((time.perf_counter() - start) * 1000)
                symbol = z.zbar_image_first_symbol(image)
                while symbol:
                    if z.zbar_symbol_get_type(symbol) == ZBAR_QRCODE:
                        texts.append(ctypes.string_at(z.zbar_symbol_get_data(symbol), z.zbar_symbol_get_data_length(symbol)))
                    symbol = z.zbar_symbol_next(symbol)
                ok = expected in texts
                writer.writerow([name, fid, int(ok), int(not ok and bool(texts)), f"{statistics.median(times):.4f}"])
                z.zbar_image_destroy(image)
    print(f"zbar_plain: -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
