"""Quick decode test (issue 12 item 4): every format's code, drawn by the project's renderer
and filmed by the simulated scanner camera of decode_sizes.py, reads with zxing-cpp and
with zbar at a comfortable size, and no decoder ever returns another payload.

    target/qr-venv/bin/python -m pytest tests/qr_decode -q

The full measurement (smallest sizes, docs/QR.md "Decode sizes") is decode_sizes.py.
Set TESSERA_QR_PNG to a prebuilt core/examples/qr_png to skip `cargo build`.
"""

import dataclasses
import os

import numpy as np
import pytest

import decode_sizes as ds

# Camera pixels per module (quiet zone counted) at which every format must read in every
# trial; the full run finds 2.3-3.4 px per module enough (docs/QR.md), so this has a margin.
COMFORTABLE = 4.0
# Sizes where reads start to fail: the likeliest place for a decoder to return garbage.
SMALL = (1.6, 2.4)
TRIALS = 16


def fresh(payloads):
    return [dataclasses.replace(p) for p in payloads]


def render(tmp_path_factory, mutate=None, payloads=ds.PAYLOADS):
    payloads = fresh(payloads)
    out = tmp_path_factory.mktemp("png")
    pngs = ds.prepare(payloads, ds.Renderer(os.environ.get("TESSERA_QR_PNG")), out, mutate)
    return {p.label: p for p in payloads}, pngs


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render(tmp_path_factory)


def size_at(p, px_per_module):
    return round(px_per_module * (p.meta["modules"] + 2 * p.meta["quiet_zone"]))


def problems(p, pngs):
    """What fails the check for payload `p`: misses at the comfortable size (any profile,
    either decoder), and any wrong payload at any size tried."""
    comfortable = size_at(p, COMFORTABLE)
    sizes = sorted({size_at(p, x) for x in SMALL} | {comfortable})
    results = ds.measure([p], sizes, TRIALS, list(ds.PROFILES), list(ds.DECODERS), pngs, log=lambda *a: None)
    found = []
    for prof, by_decoder in results[p.label].items():
        for d, by_size in by_decoder.items():
            ok = by_size[comfortable]["ok"]
            if ok < TRIALS:
                found.append(f"{d} read {ok}/{TRIALS} in the {prof} profile at N={comfortable}")
            for n, c in by_size.items():
                if c["wrong"]:
                    found.append(f"{d} returned another payload at N={n} ({prof}): {c['wrong_texts'][:1]}")
    return found


LABELS = [p.label for p in ds.PAYLOADS]


@pytest.mark.parametrize("label", LABELS)
def test_reads_at_a_comfortable_size_and_never_wrong(rendered, label):
    payloads, pngs = rendered
    assert problems(payloads[label], pngs) == []


@pytest.mark.parametrize("label", LABELS)
def test_clean_png_decodes_to_the_payload_at_the_renderers_version(rendered, label):
    payloads, pngs = rendered
    p = payloads[label]
    assert p.meta["parses_as"] == p.format, "core does not read the payload as its format"
    assert ds.clean_check([p], pngs, list(ds.DECODERS)) == []
    (found,) = ds.zxingcpp.read_barcodes(np.asarray(pngs[label]), formats=ds.zxingcpp.BarcodeFormat.QRCode)
    assert found.extra["Version"] == str(p.meta["version"])
    assert found.ec_level == "M"


def test_the_check_fails_for_a_code_without_a_finder_pattern(tmp_path_factory):
    payloads, pngs = render(tmp_path_factory, "finder", ds.PAYLOADS[:1])
    (p,) = payloads.values()
    found = problems(p, pngs)
    assert len(found) == 2 * len(ds.PROFILES), found  # both decoders miss in both profiles
    assert ds.clean_check([p], pngs, list(ds.DECODERS))


def test_the_check_fails_when_the_code_holds_another_payload(tmp_path_factory):
    payloads, pngs = render(tmp_path_factory, "payload", ds.PAYLOADS[:1])
    (p,) = payloads.values()
    found = problems(p, pngs)
    assert any("another payload" in f for f in found), found
    assert ds.clean_check([p], pngs, list(ds.DECODERS))
