#!/usr/bin/env python3
"""How small can a Tessera code be at the door and still read? (issue 12 item 4)

Renders every payload below with the project's own QR renderer (`QrMatrix::encode(..)
.to_png(..)` through `core/examples/qr_png.rs`), films it with a simulated scanner camera
(deterministic: fixed seeds) at several sizes, decodes each frame with two independent
decoders (zxing-cpp and zbar), and reports, per payload, decoder and camera profile, the
smallest size N (camera pixels across the whole symbol, quiet zone included) from which at
least 95 % of the trials decode to exactly the payload.

    target/qr-venv/bin/python tests/qr_decode/decode_sizes.py            # full run
    target/qr-venv/bin/python tests/qr_decode/decode_sizes.py --quick    # a smoke run

Writes target/qr-decode/decode_sizes.md and .json (and the PNGs under target/qr-decode/png)
and prints the table. Exits 1 if a decoder ever returns a payload other than the one drawn,
if the clean PNG does not decode to the payload, or if a payload does not reach 95 % with
both decoders in both profiles at the largest size (--require). docs/QR.md "Decode sizes"
has the measured table and what it means at the door.

To measure another format, add one line to PAYLOADS (or pass --payload FORMAT:LABEL=TEXT).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np
import zxingcpp
from PIL import Image
from pyzbar import pyzbar

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"

# ---------------------------------------------------------------------------------------
# What is measured: payload strings labelled by format. One line per payload.


def vector(file: str, name: str) -> Callable[["Renderer"], str]:
    """The `payload` of vector `name` in tests/vectors/`file`."""

    def get(_: "Renderer") -> str:
        vectors = json.loads((VECTORS / file).read_text(encoding="utf-8"))["vectors"]
        (v,) = [v for v in vectors if v["name"] == name]
        return v["payload"]

    get.source = f"tests/vectors/{file} `{name}`"  # type: ignore[attr-defined]
    return get


def s1_variant(name: str, **changes) -> Callable[["Renderer"], str]:
    """An S1 payload drawn by core (`qr_png s1`) from vector `name` of s1.json with some
    credential fields changed; the unchanged vector must come out as its published payload
    first (so the generator path is the vectors' own)."""

    def get(renderer: "Renderer") -> str:
        vectors = json.loads((VECTORS / "s1.json").read_text(encoding="utf-8"))["vectors"]
        (v,) = [v for v in vectors if v["name"] == name]
        changed = {**v, **changes}
        same, new = renderer.s1_payloads([v, changed])
        if same != v["payload"]:
            raise SystemExit(f"qr_png s1 does not reproduce vector {name}")
        return new

    what = ", ".join(f"{k} = {json.dumps(x, ensure_ascii=False)}" for k, x in changes.items())
    get.source = f"core's S1Code::generate: tests/vectors/s1.json `{name}` with {what}"  # type: ignore[attr-defined]
    return get


def literal(text: str) -> Callable[["Renderer"], str]:
    def get(_: "Renderer") -> str:
        return text

    get.source = "given on the command line"  # type: ignore[attr-defined]
    return get


# The longest seat a credential holds (docs/PROTOCOL.md §7.1): 64 UTF-8 bytes.
SEAT_64 = "Tribune Nord · Porte 12 · Rang 34 · Siège 56 · Accès B-120"
assert len(SEAT_64.encode()) == 64, len(SEAT_64.encode())


@dataclass
class Payload:
    format: str  # the format's name in the table (T1, S1, ...)
    label: str  # unique, a file name: letters, digits, '.', '_', '-'
    get: Callable[["Renderer"], str]
    text: str = ""
    meta: dict = field(default_factory=dict)


PAYLOADS = [
    Payload("T1", "T1-no-mac", vector("t1.json", "rfc6238-SHA1-59")),  # 40-byte body, shortest T1
    Payload("T1", "T1-mac", vector("t1.json", "tessera-sha512-9d-15s-event-seed-release")),  # 52 bytes, longest T1
    Payload("S1", "S1-jit", vector("s1.json", "s1-strict-jit-personalised-utf8-seat")),  # PROTOCOL.md §11.3
    Payload("S1", "S1-jit-seat64", s1_variant("s1-strict-jit-personalised-utf8-seat", seat=SEAT_64)),  # longest S1
    Payload("C1", "C1-plain", vector("c1.json", "c1-plain-empty-seat")),  # 71-byte body, no MAC
    Payload("C1", "C1-jit", vector("c1.json", "c1-strict-jit-personalised-utf8-seat")),  # 79 bytes, longest C1
]

# ---------------------------------------------------------------------------------------
# The project's renderer.

MODULE_PX = 8  # PNG pixels per module; the camera resamples it, so any size >= 1 works


class Renderer:
    """Runs `core/examples/qr_png.rs`: prebuilt (--qr-png, $TESSERA_QR_PNG), or built once
    per process with `cargo build -p tessera-core --example qr_png`."""

    built: str | None = None

    def __init__(self, binary: str | None):
        if not binary:
            if Renderer.built is None:
                cmd = ["cargo", "build", "-q", "--locked", "-p", "tessera-core", "--example", "qr_png"]
                done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
                target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
                Renderer.built = str((ROOT / target / "debug" / "examples" / "qr_png").resolve())
            binary = Renderer.built
        self.cmd = [binary]

    def _run(self, args: list[str], stdin: str) -> str:
        done = subprocess.run(
            self.cmd + args, input=stdin, capture_output=True, text=True, cwd=ROOT, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(self.cmd + args)} failed:\n{done.stderr}")
        return done.stdout

    def s1_payloads(self, specs: list[dict]) -> list[str]:
        out = self._run(["s1"], "".join(json.dumps(s) + "\n" for s in specs))
        return out.split()

    def png(self, payloads: list[Payload], out_dir: Path) -> list[dict]:
        lines = "".join(f"{p.label}\t{p.text}\n" for p in payloads)
        out = self._run(["png", str(out_dir), str(MODULE_PX)], lines)
        return [json.loads(line) for line in out.splitlines()]


# ---------------------------------------------------------------------------------------
# The simulated scanner camera.


@dataclass(frozen=True)
class Profile:
    name: str
    blur_sigma: float  # camera pixels
    black: float  # grey level a dark module reaches on the sensor (0..255)
    white: float  # grey level of a light module
    surround: float  # grey level around the symbol (the app's UI, the phone)
    noise_sigma: float  # Gaussian sensor noise, grey levels
    max_shift: float  # symbol centre moved by up to this fraction of N, plus a sub-pixel offset
    max_rotation_deg: float = 0.0
    max_tilt: float = 0.0  # keystone: one edge up to this fraction longer than the opposite one
    glare: tuple[float, float] = (0.0, 0.0)  # additive bright spot, fraction of full scale
    jpeg_quality: int | None = None
    describe: str = ""


PROFILES = {
    "mild": Profile(
        "mild", blur_sigma=1.0, black=20, white=230, surround=40, noise_sigma=2.0, max_shift=0.05,
        describe="sub-pixel and small offsets, Gaussian blur σ 1 px, sensor noise σ 2 grey levels, "
        "contrast 20–230",
    ),
    "harsh": Profile(
        "harsh", blur_sigma=1.0, black=45, white=210, surround=40, noise_sigma=6.0, max_shift=0.05,
        max_rotation_deg=8.0, max_tilt=0.10, glare=(0.15, 0.35), jpeg_quality=60,
        describe="as mild, plus rotation up to ±8°, keystone tilt up to 10 %, a glare spot "
        "(+15–35 % of full scale), lower contrast 45–210, noise σ 6, JPEG quality 60",
    ),
}

SUPERSAMPLE = 4  # camera pixels integrate 4×4 point samples of the screen


def homography(src: np.ndarray, dst: np.ndarray) -> tuple[float, ...]:
    """Coefficients (a..h) mapping points `src` to `dst` (4×2 each), Pillow's PERSPECTIVE."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return tuple(np.linalg.solve(np.array(rows, float), np.array(rhs, float)))


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return img
    r = max(1, math.ceil(3 * sigma))
    x = np.arange(-r, r + 1)
    k = np.exp(-(x**2) / (2 * sigma**2))
    k /= k.sum()
    padded = np.pad(img, r, mode="edge")
    tmp = sum(k[i] * padded[:, i : i + img.shape[1]] for i in range(2 * r + 1))
    return sum(k[i] * tmp[i : i + img.shape[0], :] for i in range(2 * r + 1))


def camera(png: Image.Image, n: int, profile: Profile, rng: np.random.Generator) -> np.ndarray:
    """One camera frame (uint8 grey) of the code, whose symbol with its quiet zone spans
    about `n` camera pixels."""
    margin = max(12, round(0.2 * n))
    side = n + 2 * margin
    # Where the symbol's corners land on the sensor (camera pixels).
    half = n / 2
    corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    if profile.max_tilt:
        t = rng.uniform(-profile.max_tilt, profile.max_tilt)
        axis = rng.integers(2)  # keystone along x or along y
        near = 1 + t / 2
        far = 1 - t / 2
        if axis == 0:  # top edge narrower than bottom, or the reverse
            corners[:2, 0] *= far
            corners[2:, 0] *= near
        else:
            corners[[0, 3], 1] *= far
            corners[[1, 2], 1] *= near
    if profile.max_rotation_deg:
        a = math.radians(rng.uniform(-profile.max_rotation_deg, profile.max_rotation_deg))
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        corners = corners @ rot.T
    shift = rng.uniform(-profile.max_shift, profile.max_shift, 2) * n + rng.uniform(-0.5, 0.5, 2)
    corners = corners + side / 2 + shift
    # The screen: the PNG's dark modules at grey level `black`, light ones at `white`, and
    # the surround at its own grey; point-sampled SUPERSAMPLE² times per camera pixel.
    screen = png.point(lambda v: round(profile.white) if v else round(profile.black))
    s = png.width
    coeffs = homography(corners * SUPERSAMPLE, np.array([[0, 0], [s, 0], [s, s], [0, s]], float))
    fine = screen.transform(
        (side * SUPERSAMPLE, side * SUPERSAMPLE),
        Image.Transform.PERSPECTIVE,
        coeffs,
        resample=Image.Resampling.NEAREST,
        fillcolor=round(profile.surround),
    )
    # Each camera pixel integrates its area (box filter of the samples).
    img = np.asarray(fine.reduce(SUPERSAMPLE), dtype=np.float32)
    if profile.glare[1]:
        gy, gx = (corners.mean(axis=0) + rng.uniform(-0.3, 0.3, 2) * n)[::-1]
        radius = rng.uniform(0.15, 0.3) * n
        spot = np.outer(
            np.exp(-((np.arange(side) - gy) ** 2) / (2 * radius**2)),
            np.exp(-((np.arange(side) - gx) ** 2) / (2 * radius**2)),
        )
        img = img + rng.uniform(*profile.glare) * 255.0 * spot
    img = gaussian_blur(img, profile.blur_sigma)
    img = img + rng.normal(0, profile.noise_sigma, img.shape)
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    if profile.jpeg_quality:
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, format="JPEG", quality=profile.jpeg_quality)
        out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    return out


def load_png(path: str) -> Image.Image:
    """The project's PNG (1-bit) as 8-bit grey: 0 dark, 255 light."""
    return Image.open(path).convert("L")


# ---------------------------------------------------------------------------------------
# The decoders: each returns the payloads (bytes) of every QR code it found.


def decode_zxing(img: np.ndarray) -> list[bytes]:
    found = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
    return [bytes(r.bytes) for r in found if r.valid]


def decode_zbar(img: np.ndarray) -> list[bytes]:
    found = pyzbar.decode(Image.fromarray(img), symbols=[pyzbar.ZBarSymbol.QRCODE])
    return [r.data for r in found]


DECODERS = {"zxing-cpp": decode_zxing, "zbar": decode_zbar}


def decoder_versions() -> dict:
    versions = {"zxing-cpp": metadata.version("zxing-cpp"), "pyzbar": metadata.version("pyzbar")}
    try:
        versions["libzbar0"] = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "libzbar0"], capture_output=True, text=True
        ).stdout or "unknown"
    except OSError:
        versions["libzbar0"] = "unknown"
    return versions


# ---------------------------------------------------------------------------------------
# The measurement.

THRESHOLD = 0.95
FULL_SIZES = list(range(40, 301, 5))
FULL_TRIALS = 40
STOP_AFTER_ZEROS = 2  # the full run skips what is left below 2 sizes where nothing read


def seed(label: str, profile: str, n: int, trial: int) -> list[int]:
    return [zlib.crc32(label.encode()), zlib.crc32(profile.encode()), n, trial]


def measure(
    payloads: list[Payload],
    sizes: list[int],
    trials: int,
    profiles: list[str],
    decoders: list[str],
    pngs: dict[str, Image.Image],
    samples: Path | None = None,
    log=print,
    stop_after_zeros: int | None = None,
) -> dict:
    """Per payload, profile and decoder: successes and wrong payloads per size.

    Sizes are measured from the largest down; with `stop_after_zeros`, a payload and
    profile stop after that many consecutive sizes at which no decoder read any trial
    (smaller sizes are then left out of the results: not measured)."""
    results: dict = {}
    for p in payloads:
        expected = p.text.encode()
        for prof in profiles:
            profile = PROFILES[prof]
            zeros = 0
            for n in sorted(sizes, reverse=True):
                if stop_after_zeros is not None and zeros >= stop_after_zeros:
                    break
                counts = {d: {"ok": 0, "wrong": 0, "wrong_texts": []} for d in decoders}
                for t in range(trials):
                    img = camera(pngs[p.label], n, profile, np.random.default_rng(seed(p.label, prof, n, t)))
                    if samples is not None and t == 0:
                        Image.fromarray(img).save(samples / f"{p.label}-{prof}-{n}.png")
                    for d in decoders:
                        got = DECODERS[d](img)
                        c = counts[d]
                        if expected in got:
                            c["ok"] += 1
                        wrong = [g for g in got if g != expected]
                        if wrong:
                            c["wrong"] += 1
                            c["wrong_texts"] += [w.decode("utf-8", "replace") for w in wrong][:3]
                for d in decoders:
                    r = results.setdefault(p.label, {}).setdefault(prof, {}).setdefault(d, {})
                    r[n] = counts[d]
                zeros = zeros + 1 if all(counts[d]["ok"] == 0 for d in decoders) else 0
                log(
                    f"  {p.label:<14} {prof:<6} N={n:<4}"
                    + "".join(f" {d} {counts[d]['ok']:>3}/{trials}" for d in decoders)
                )
    return results


def smallest(rates: dict[int, dict], trials: int, threshold: float) -> dict:
    """`steady`: the smallest N from which every larger measured N reaches the threshold
    (None if the largest does not); `first`: the smallest N that reaches it at all."""
    sizes = sorted(rates)
    ok = [rates[n]["ok"] >= threshold * trials for n in sizes]
    steady = None
    for i in range(len(sizes) - 1, -1, -1):
        if not ok[i]:
            break
        steady = sizes[i]
    first = next((n for n, good in zip(sizes, ok) if good), None)
    return {"steady": steady, "first": first}


def cell(entry: dict, sizes: list[int], modules_q: int) -> str:
    n = entry["steady"]
    if n is None:
        return f"> {max(sizes)}"
    text = f"{'≤ ' if n == min(sizes) else ''}{n} ({n / modules_q:.1f})"
    if entry["first"] is not None and entry["first"] < n:
        text += f" [{entry['first']}]"
    return text


def markdown(payloads: list[Payload], summary: dict, profiles, decoders, sizes) -> str:
    head = ["format", "payload", "QR version", "modules a side (+ quiet zone)", "payload chars"]
    head += [f"{d}, {prof}" for prof in profiles for d in decoders]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for p in payloads:
        m = p.meta
        q = m["modules"] + 2 * m["quiet_zone"]
        row = [p.format, f"`{p.label}`", str(m["version"]), f"{m['modules']} ({q})", str(m["chars"])]
        row += [cell(summary[p.label][prof][d], sizes, q) for prof in profiles for d in decoders]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def parse_sizes(text: str) -> list[int]:
    if ":" in text:
        lo, hi, step = (int(x) for x in text.split(":"))
        return list(range(lo, hi + 1, step))
    return [int(x) for x in text.split(",")]


def mutate_png(img: Image.Image, how: str) -> Image.Image:
    """Damage for the test that the check can fail: `finder` paints the top-left finder
    pattern light (no decoder can find the symbol)."""
    if how != "finder":
        raise ValueError(how)
    out = img.copy()
    q = MODULE_PX * 4  # the quiet zone
    out.paste(255, (q, q, q + 7 * MODULE_PX, q + 7 * MODULE_PX))
    return out


def prepare(payloads: list[Payload], renderer: Renderer, out_dir: Path, mutate: str | None = None):
    """Fetches every payload and renders it; returns the PNGs (possibly mutated)."""
    for p in payloads:
        p.text = p.get(renderer)
    drawn = payloads
    if mutate == "payload":
        # Draw a different payload (one character changed) than the one expected.
        drawn = [Payload(p.format, p.label, p.get, text=p.text[:3] + ("B" if p.text[3] != "B" else "C") + p.text[4:])
                 for p in payloads]
    rows = {r["label"]: r for r in renderer.png(drawn, out_dir)}
    pngs = {}
    for p in payloads:
        p.meta = rows[p.label]
        img = load_png(p.meta["png"])
        side = (p.meta["modules"] + 2 * p.meta["quiet_zone"]) * MODULE_PX
        if img.size != (side, side):
            raise SystemExit(f"{p.label}: PNG is {img.size}, expected {side} px a side")
        pngs[p.label] = mutate_png(img, mutate) if mutate == "finder" else img
    return pngs


def clean_check(payloads: list[Payload], pngs, decoders) -> list[str]:
    """The PNG itself (no camera) must decode to exactly the payload with every decoder."""
    problems = []
    for p in payloads:
        img = np.asarray(pngs[p.label])
        for d in decoders:
            got = DECODERS[d](img)
            if got != [p.text.encode()]:
                problems.append(f"{p.label}: the clean PNG decodes with {d} to {got!r:.120}")
    return problems


def run(args) -> int:
    started = time.monotonic()
    payloads = [p for p in PAYLOADS if not args.only or p.label in args.only]
    for spec in args.payload:
        fmt, _, rest = spec.partition(":")
        label, _, text = rest.partition("=")
        payloads.append(Payload(fmt, label, literal(text)))
    if not payloads:
        raise SystemExit("no payload selected")
    out_dir = Path(args.out)
    (out_dir / "png").mkdir(parents=True, exist_ok=True)
    samples = None
    if args.samples:
        samples = out_dir / "samples"
        samples.mkdir(exist_ok=True)
    renderer = Renderer(args.qr_png or os.environ.get("TESSERA_QR_PNG"))
    pngs = prepare(payloads, renderer, out_dir / "png", args.mutate)
    for p in payloads:
        print(f"{p.label}: {p.format}, {p.meta['chars']} chars, version {p.meta['version']}, "
              f"{p.meta['modules']} modules, parses as {p.meta['parses_as']}", flush=True)
    problems = clean_check(payloads, pngs, args.decoders)
    results = measure(payloads, args.sizes, args.trials, args.profiles, args.decoders, pngs, samples,
                      log=(lambda *a: print(*a, flush=True)) if args.verbose else (lambda *a: None),
                      stop_after_zeros=None if args.all_sizes else STOP_AFTER_ZEROS)
    summary = {
        p.label: {
            prof: {d: smallest(results[p.label][prof][d], args.trials, THRESHOLD) for d in args.decoders}
            for prof in args.profiles
        }
        for p in payloads
    }
    largest = max(args.sizes)
    for p in payloads:
        for prof in args.profiles:
            for d in args.decoders:
                for n, c in results[p.label][prof][d].items():
                    if c["wrong"]:
                        problems.append(f"{p.label}: {d} decoded another payload ({prof}, N={n}): {c['wrong_texts'][:1]}")
                if prof in args.require and results[p.label][prof][d][largest]["ok"] < THRESHOLD * args.trials:
                    problems.append(
                        f"{p.label}: {d} reads {results[p.label][prof][d][largest]['ok']}/{args.trials} "
                        f"in the {prof} profile at the largest size N={largest}"
                    )
    elapsed = time.monotonic() - started
    table = markdown(payloads, summary, args.profiles, args.decoders, args.sizes)
    report = {
        "what": "smallest N (camera pixels across the symbol, quiet zone included) from which "
        f">= {THRESHOLD:.0%} of trials decode to exactly the payload",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "sizes": args.sizes,
        "trials": args.trials,
        "threshold": THRESHOLD,
        "module_px": MODULE_PX,
        "supersample": SUPERSAMPLE,
        "profiles": {k: {**vars(PROFILES[k])} for k in args.profiles},
        "decoders": decoder_versions(),
        "python": platform.python_version(),
        "elapsed_s": round(elapsed, 1),
        "payloads": [
            {
                "format": p.format, "label": p.label, "payload": p.text,
                "source": getattr(p.get, "source", ""),
                **{k: p.meta[k] for k in ("chars", "version", "modules", "quiet_zone", "parses_as")},
                "smallest": summary[p.label],
                "per_size": {prof: {d: {str(n): c["ok"] for n, c in sorted(results[p.label][prof][d].items())}
                                    for d in args.decoders} for prof in args.profiles},
            }
            for p in payloads
        ],
        "problems": problems,
    }
    (out_dir / "decode_sizes.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    (out_dir / "decode_sizes.md").write_text(table + "\n")
    print()
    print(table)
    print(f"\ncells: smallest N in camera pixels across the symbol with its quiet zone "
          f"(camera pixels per module); [N] = a smaller size that also read, with a failing size between")
    print(f"{len(payloads)} payloads, sizes {args.sizes[0]}..{largest}, {args.trials} trials, "
          f"{elapsed:.0f} s; wrote {out_dir}/decode_sizes.md and .json")
    for line in problems:
        print("PROBLEM:", line, file=sys.stderr)
    return 1 if problems else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few sizes, 8 trials")
    ap.add_argument("--sizes", type=parse_sizes, help="LO:HI:STEP or N,N,... (default 40:300:5)")
    ap.add_argument("--trials", type=int, help=f"trials per size (default {FULL_TRIALS})")
    ap.add_argument("--profiles", default="mild,harsh", type=lambda s: s.split(","))
    ap.add_argument("--decoders", default=",".join(DECODERS), type=lambda s: s.split(","))
    ap.add_argument("--require", default="mild,harsh", type=lambda s: [x for x in s.split(",") if x],
                    help="profiles that must reach 95 %% at the largest size (default: both)")
    ap.add_argument("--all-sizes", action="store_true",
                    help=f"measure every size (default: stop below {STOP_AFTER_ZEROS} sizes where nothing read)")
    ap.add_argument("--only", type=lambda s: s.split(","), help="labels to measure")
    ap.add_argument("--payload", action="append", default=[], metavar="FORMAT:LABEL=TEXT",
                    help="also measure this payload")
    ap.add_argument("--qr-png", help="prebuilt core/examples/qr_png binary (default: cargo build it)")
    ap.add_argument("--out", default=str(ROOT / "target" / "qr-decode"))
    ap.add_argument("--samples", action="store_true", help="save trial 0's camera frame per size")
    ap.add_argument("--mutate", choices=["finder", "payload"], help=argparse.SUPPRESS)
    ap.add_argument("-v", "--verbose", action="store_true", help="a line per size")
    args = ap.parse_args(argv)
    if args.sizes is None:
        args.sizes = [120, 200, 300] if args.quick else FULL_SIZES
    if args.trials is None:
        args.trials = 8 if args.quick else FULL_TRIALS
    unknown = set(args.profiles + args.require) - set(PROFILES) | set(args.decoders) - set(DECODERS)
    if unknown:
        ap.error(f"unknown profile or decoder: {sorted(unknown)}")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
