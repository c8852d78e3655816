#!/usr/bin/env python3
"""Converts ../shared/realqr into a door-camera corpus for make bench.

    python3 scripts/realqr_corpus.py SHARED/realqr OUT_DIR

Each photo as a door camera would deliver it (../shared/realqr/README.md): transparency composited
over white, 8-bit greyscale, the long side scaled down to 1280 px where it is longer. Writes
OUT_DIR/<id>.pgm (binary P5), OUT_DIR/payload_<id>.txt (the expected bytes, exactly) and
OUT_DIR/manifest.tsv in the qrcorpus layout (id, path, width, height, payload key, note), so the
same harnesses time it: the payload key of a photo is its id.
"""
import csv
import os
import sys

from PIL import Image


def door_camera_grey(path):
    """The photo at `path` as 8-bit greyscale (ITU-R 601 luma), alpha over white, long side at most
    1280 px (box filter)."""
    image = Image.open(path)
    image.load()
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    image = image.convert("L")
    if max(image.size) > 1280:
        scale = 1280 / max(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BOX)
    return image


def main():
    source, out = sys.argv[1:3]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(source, "manifest.tsv"), newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    with open(os.path.join(out, "manifest.tsv"), "w", newline="") as m:
        writer = csv.writer(m, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "path", "width", "height", "payload", "note"])
        for row in rows:
            grey = door_camera_grey(os.path.join(source, row["image"]))
            width, height = grey.size
            with open(os.path.join(out, f"{row['id']}.pgm"), "wb") as f:
                f.write(b"P5\n%d %d\n255\n" % (width, height) + grey.tobytes())
            with open(os.path.join(source, row["expected"]), "rb") as f:
                expected = f.read()
            with open(os.path.join(out, f"payload_{row['id']}.txt"), "wb") as f:
                f.write(expected)
            writer.writerow([row["id"], f"{row['id']}.pgm", width, height, row["id"], row["note"]])
    print(f"realqr_corpus: {len(rows)} photos -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
