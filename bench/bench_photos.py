"""Photo ingest of 12-megapixel JPEGs: images per second and peak memory,
draft-mode decoding (what FieldSync does) against full decoding (the baseline),
measured in the same run.

Each measurement runs in a fresh child process so that its peak resident
memory (ru_maxrss, which sees Pillow's C allocations too) belongs to it
alone; the figure printed is the peak above the child's baseline after it
has imported everything and read the photo's bytes.

    .venv/bin/python bench/bench_photos.py [--photos 4]

Targets: draft at least 2x faster than full decoding, and under 64 MiB peak
per photo (off the request path: the worker makes thumbnails).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WIDTH, HEIGHT = 4032, 3024  # a 12-MP phone camera
SIZES = (256, 1024)
MAX_PIXELS = 64_000_000


def make_photo(path: Path, seed: int) -> None:
    """A photo-like JPEG: smooth gradients with sensor-like noise, EXIF orientation 6."""
    from PIL import Image

    rng = random.Random(seed)
    small = Image.frombytes("RGB", (63, 47), rng.randbytes(63 * 47 * 3)).resize((WIDTH, HEIGHT),
                                                                                Image.Resampling.BICUBIC)
    noise = Image.effect_noise((WIDTH, HEIGHT), 24).convert("RGB")
    image = Image.blend(small, noise, 0.15)
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(path, "JPEG", quality=90, exif=exif)


def _status_mib(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> float:
    """Reset the peak-RSS mark to the current RSS (Linux: clear_refs 5); return the current RSS.
    ru_maxrss is no good here: Linux carries it over from the parent across exec."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _status_mib("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak() -> float:
    return _status_mib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, paths: list[str]) -> None:
    from media import images

    datas = [Path(p).read_bytes() for p in paths]
    # Warm up the codecs on a tiny image so that library loading is not counted.
    images.thumbnails(io.BytesIO(_tiny_jpeg()), SIZES, max_pixels=MAX_PIXELS)
    baseline = _reset_peak()
    started = time.perf_counter()
    for data in datas:
        if mode == "ingest":
            images.inspect(io.BytesIO(data), max_pixels=MAX_PIXELS)
            images.thumbnails(io.BytesIO(data), SIZES, max_pixels=MAX_PIXELS, draft=True)
        else:
            images.thumbnails(io.BytesIO(data), SIZES, max_pixels=MAX_PIXELS, draft=(mode == "draft"))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "count": len(datas), "peak_mib": _peak() - baseline}))


def _tiny_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(out, "JPEG")
    return out.getvalue()


def run(mode: str, paths: list[Path]) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", mode, *map(str, paths)],  # noqa: S603
                            capture_output=True, text=True, check=True, timeout=600, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=4, help="12-MP JPEGs per measurement (default 4)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1:])
        return

    with tempfile.TemporaryDirectory(prefix="bench-photos-") as tmp:
        paths = [Path(tmp) / f"photo-{i}.jpg" for i in range(max(1, min(args.photos, 20)))]
        for i, path in enumerate(paths):
            make_photo(path, seed=i)
        mean_size = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
        print(f"{len(paths)} JPEGs of {WIDTH}x{HEIGHT} ({WIDTH * HEIGHT / 1e6:.1f} MP), {mean_size:.1f} MB each; "
              f"thumbnails {SIZES}; {os.cpu_count()} CPU(s)")
        # One photo per child for the per-photo peak; all of them for the rate.
        single = {mode: run(mode, paths[:1]) for mode in ("draft", "full")}
        batch = {mode: run(mode, paths) for mode in ("draft", "full", "ingest")}

    def per_photo_ms(r):
        return r["seconds"] / r["count"] * 1000

    print(f"{'':28}{'ms/photo':>10}{'photos/s':>10}{'peak MiB':>10}")
    for label, mode in (("draft mode (FieldSync)", "draft"), ("full decode (baseline)", "full")):
        print(f"{label:28}{per_photo_ms(batch[mode]):10.0f}{batch[mode]['count'] / batch[mode]['seconds']:10.2f}"
              f"{single[mode]['peak_mib']:10.1f}")
    ingest = batch["ingest"]
    print(f"{'ingest: check + thumbnails':28}{per_photo_ms(ingest):10.0f}{ingest['count'] / ingest['seconds']:10.2f}"
          f"{ingest['peak_mib']:10.1f}")
    speedup = batch["full"]["seconds"] / batch["draft"]["seconds"]
    memory_ratio = single["full"]["peak_mib"] / max(single["draft"]["peak_mib"], 0.1)
    print(f"draft vs full: {speedup:.2f}x faster (target >= 2x), {memory_ratio:.2f}x less peak memory; "
          f"draft peak {single['draft']['peak_mib']:.1f} MiB per photo (target < 64 MiB)")
    ok = speedup >= 2 and single["draft"]["peak_mib"] < 64
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
