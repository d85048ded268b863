"""Independent check of the small-order Ed25519 blocklist (tests/vectors/small_order.json).

Pure Python Edwards25519 arithmetic (RFC 8032 §5.1, no third-party crypto): proves that
every listed encoding decodes to a point P with [8]P = identity, that the list holds every
encoding of every small-order point (the whole 8-torsion subgroup, non-canonical encodings
included) and nothing else, that the blocklist is the list with the sign bit masked, and
that each listed forgery (R = identity, S = 0, no private key) passes the cofactorless
verification equation that ring checks, which is why core/src/ed25519.rs refuses them.

Run: python3 -m pytest tests/vectors -q
"""

import hashlib
import json
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DATA = json.loads((HERE / "small_order.json").read_text(encoding="utf-8"))

# RFC 8032 §5.1: the field, the curve constant, the group order and the base point.
P = 2**255 - 19
D = (-121665 * pow(121666, P - 2, P)) % P
L = 2**252 + 27742317777372353535851937790883648493
SQRT_M1 = pow(2, (P - 1) // 4, P)
BASE_Y = 4 * pow(5, P - 2, P) % P
IDENTITY = (0, 1)


def inv(a):
    return pow(a, P - 2, P)


def add(p1, p2):
    # Affine twisted Edwards addition (a = -1); complete because d is not a square.
    (x1, y1), (x2, y2) = p1, p2
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + x2 * y1) * inv(1 + t) % P
    y3 = (y1 * y2 + x1 * x2) * inv(1 - t) % P
    return (x3, y3)


def neg(pt):
    return ((-pt[0]) % P, pt[1])


def mul(k, pt):
    acc = IDENTITY
    while k:
        if k & 1:
            acc = add(acc, pt)
        pt = add(pt, pt)
        k >>= 1
    return acc


def recover_x(y, sign):
    """x with x^2 = (y^2 - 1) / (d y^2 + 1) and the given parity, or None."""
    xx = (y * y - 1) * inv(D * y * y + 1) % P
    x = pow(xx, (P + 3) // 8, P)
    if (x * x - xx) % P:
        x = x * SQRT_M1 % P
    if (x * x - xx) % P:
        return None
    if x & 1 != sign:
        x = (-x) % P  # x = 0 stays 0: a lenient decoder ignores the sign there
    return x


def decode_lenient(b):
    """Decodes as ring (BoringSSL ref10) does: y taken mod p, sign ignored when x = 0."""
    assert len(b) == 32
    n = int.from_bytes(b, "little")
    y, sign = (n & (2**255 - 1)) % P, n >> 255
    x = recover_x(y, sign)
    return None if x is None else (x, y)


def decode_strict(b):
    """RFC 8032 §5.1.3: refuses y >= p, and x = 0 with the sign bit set."""
    n = int.from_bytes(b, "little")
    y, sign = n & (2**255 - 1), n >> 255
    if y >= P:
        return None
    x = recover_x(y, sign)
    if x is None or (x == 0 and sign == 1):
        return None
    return (x, y)


def encode(pt):
    x, y = pt
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def order(pt):
    for k in (1, 2, 4, 8):
        if mul(k, pt) == IDENTITY:
            return k
    return None


def is_probable_prime(n):
    # Miller-Rabin with the first 20 prime bases: plenty for a known 253-bit prime.
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71):
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


ENCODINGS = [bytes.fromhex(e["public_key_hex"]) for e in DATA["encodings"]]
BLOCKLIST = [bytes.fromhex(h) for h in DATA["blocklist_hex"]]


def masked(b):
    return b[:31] + bytes([b[31] & 0x7F])


def torsion_subgroup():
    """The eight points P with [8]P = identity.

    #E = 8 * L with L prime, so the points of order dividing 8 form the unique subgroup of
    order 8 (a Sylow 2-subgroup), and it is cyclic: the multiples of one point of order 8.
    """
    base = (recover_x(BASE_Y, 0), BASE_Y)
    assert is_probable_prime(L)
    assert mul(L, base) == IDENTITY and base != IDENTITY
    # A point of order 8: [L]Q for a random-ish curve point Q has order dividing 8; pick
    # a y that decodes and whose [L]-multiple has order exactly 8.
    for y in range(2, 1000):
        x = recover_x(y, 0)
        if x is None:
            continue
        t = mul(L, (x, y))
        if order(t) == 8:
            group = {mul(i, t) for i in range(8)}
            assert len(group) == 8
            return group
    raise AssertionError("no point of order 8 found")


TORSION = torsion_subgroup()


@pytest.mark.parametrize("enc", ENCODINGS, ids=lambda e: e.hex())
def test_each_listed_encoding_is_a_point_of_small_order(enc):
    pt = decode_lenient(enc)
    assert pt is not None, "does not decode"
    assert mul(8, pt) == IDENTITY
    assert order(pt) in (1, 2, 4, 8)
    assert pt in TORSION


def test_the_list_is_every_encoding_of_every_small_order_point_and_nothing_else():
    ys = {y for (_, y) in TORSION}
    expected = set()
    for y in ys:
        for y_enc in (y, y + P):  # y + p is a non-canonical encoding of the same y
            if y_enc < 2**255:
                for sign in (0, 1):
                    expected.add((y_enc | (sign << 255)).to_bytes(32, "little"))
    assert len(expected) == 14
    assert set(ENCODINGS) == expected
    assert len(ENCODINGS) == len(set(ENCODINGS))
    # Every canonical encoding of the eight points is there.
    assert {encode(pt) for pt in TORSION} <= set(ENCODINGS)


def test_canonical_flags_follow_rfc_8032():
    canonical = [e for e in DATA["encodings"] if e["canonical"]]
    assert len(canonical) == 8
    for e in DATA["encodings"]:
        enc = bytes.fromhex(e["public_key_hex"])
        assert (decode_strict(enc) is not None) == e["canonical"], enc.hex()


def test_blocklist_is_the_list_with_the_sign_bit_masked():
    assert len(BLOCKLIST) == 7 == len(set(BLOCKLIST))
    assert set(BLOCKLIST) == {masked(e) for e in ENCODINGS}
    assert all(b[31] & 0x80 == 0 for b in BLOCKLIST)


def test_nearby_encodings_outside_the_list_are_not_small_order():
    # A spot check of the completeness proof: the lowest and highest y values, both signs.
    listed = set(ENCODINGS)
    for y in list(range(0, 600)) + list(range(2**255 - 600, 2**255)):
        for sign in (0, 1):
            enc = (y | (sign << 255)).to_bytes(32, "little")
            pt = decode_lenient(enc)
            small = pt is not None and mul(8, pt) == IDENTITY
            assert small == (enc in listed), enc.hex()


@pytest.mark.parametrize("entry", DATA["encodings"], ids=lambda e: e["public_key_hex"])
def test_each_forgery_passes_the_cofactorless_equation_without_a_private_key(entry):
    a_enc = bytes.fromhex(entry["public_key_hex"])
    msg = bytes.fromhex(entry["forgery"]["message_hex"])
    sig = bytes.fromhex(entry["forgery"]["signature_hex"])
    r_enc, s = sig[:32], int.from_bytes(sig[32:], "little")
    assert r_enc == encode(IDENTITY) and s == 0, "R = identity, S = 0: no key involved"
    k = int.from_bytes(hashlib.sha512(r_enc + a_enc + msg).digest(), "little") % L
    a = decode_lenient(a_enc)
    base = (recover_x(BASE_Y, 0), BASE_Y)
    # RFC 8032 §5.1.7 without the cofactor: encode([S]B - [k]A) == R, as ring computes it.
    assert encode(add(mul(s, base), neg(mul(k, a)))) == r_enc
