#!/usr/bin/env python3
"""A qrcorpus-style corpus of AG2 codes beside version-8 codes, for make bench.

The frames are made by ../shared/tools/qrcorpus/gen_corpus.py's own `render` (its backgrounds,
variants, resolutions and placement), with two payloads:
  A  an AG1 pass (--ag1-text FILE; make bench gives one from access-hq-dev, about 230
     characters, QR version 9-M), or without it the shared corpus's payload A (180 characters,
     version 8-M);
  B  an AG2 pass from `ag-bench ag2` (--ag2-text FILE): an AG2 v2 code as the reference member
     page draws it, about 360 characters, version 11-M (v1 codes were about 480, version 14-M).

Each payload is drawn two ways:
  side    the same symbol side on the frame (quiet zone included) for both versions: what a phone
          held at a given distance gives the camera. The sides are the version-8 symbol at 2–8 px
          per module (57 × m px), so the AG2 modules are 57/(4v + 25) as wide for version v (57/69 at 11);
          cards are drawn at 12 px per module and shrunk to the side with area averaging, as a
          camera's pixels average the screen.
  module  the same px per module (2–8), whole pixels, as gen_corpus.py draws them: what a larger
          screen or a closer phone gives.

Writes DIR/frames/*.pgm, DIR/manifest.tsv (gen_corpus.py's columns, then sizing and side_px) and
DIR/payload_{A,B}.txt, so zbar_bench.c reads it like the shared corpus.

    python3 scripts/ag2_corpus.py --shared ../shared --ag2-text FILE [--ag1-text FILE] --out DIR [--seed N]
"""
import argparse
import importlib.util
import os
import random
import shutil
import sys

import cv2
import numpy as np
import segno


def load_generator(shared):
    path = os.path.join(shared, "tools", "qrcorpus", "gen_corpus.py")
    spec = importlib.util.spec_from_file_location("gen_corpus", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--ag2-text", required=True, help="a file holding one AG2 pass")
    ap.add_argument("--ag1-text", help="a file holding one AG1 pass, the anchor (default: the shared payload A)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--instances", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()
    gen = load_generator(args.shared)

    ag2 = open(args.ag2_text).read().strip()
    anchor = open(args.ag1_text).read().strip() if args.ag1_text else gen.make_payloads(random.Random(args.seed))["A"]
    payloads = {"A": anchor, "B": ag2}
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(os.path.join(args.out, "frames"))
    qrs = {}
    for key, text in payloads.items():
        with open(os.path.join(args.out, f"payload_{key}.txt"), "w") as f:
            f.write(text)
        qrs[key] = segno.make(text, error=gen.ECC, boost_error=False, micro=False)
        print(f"payload {key}: {len(text)} chars, mode={qrs[key].mode}, version={qrs[key].designator}",
              flush=True)
    side_modules = qrs["A"].symbol_size(border=gen.QUIET)[0]  # 57 for version 8, 61 for 9

    original_card = gen.code_card
    target = {"side": None}

    def card(matrix, m, dark, light):
        # `render` asks for a card of m px per module; in side mode it gets one of the target side.
        if target["side"] is None:
            return original_card(matrix, m, dark, light)
        big = original_card(matrix, 12, dark, light)
        return cv2.resize(big, (target["side"], target["side"]), interpolation=cv2.INTER_AREA)

    gen.code_card = card
    rows, skipped = [], 0
    for sizing_index, sizing in enumerate(("side", "module")):
        for key in ("A", "B"):
            matrix = [list(r) for r in qrs[key].matrix]
            modules = qrs[key].symbol_size(border=gen.QUIET)[0]
            # The same draws for both payloads: in side mode the frames differ only in the code.
            index = sizing_index * 100_000
            for (w, h) in gen.RESOLUTIONS:
                for m in gen.MODULES:
                    side = side_modules * m if sizing == "side" else modules * m
                    target["side"] = side if sizing == "side" else None
                    for variant in gen.VARIANTS:
                        for inst in range(args.instances):
                            rs = np.random.RandomState(args.seed + index * 7919)
                            index += 1
                            img = gen.render(payloads[key], matrix, w, h, m, variant, rs)
                            if img is None:
                                skipped += 1
                                continue
                            fid = f"{sizing}_{key}_{w}x{h}_{side}px_{variant}_{inst}"
                            path = os.path.join(args.out, "frames", fid + ".pgm")
                            gen.write_pgm(path, img)
                            rows.append((fid, path, w, h, key, variant, f"{side / modules:.2f}",
                                         qrs[key].designator, sizing, side))
    with open(os.path.join(args.out, "manifest.tsv"), "w") as f:
        f.write("id\tpath\twidth\theight\tpayload\tvariant\tmodule_px\tqr_version\tsizing\tside_px\n")
        for r in rows:
            f.write("\t".join(map(str, r)) + "\n")
    print(f"wrote {len(rows)} frames ({skipped} combinations skipped: symbol does not fit frame)")


if __name__ == "__main__":
    main()
