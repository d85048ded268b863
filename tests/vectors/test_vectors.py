"""Independent check of the Tessera rotating-code vectors (t1.json, s1.json).

Written from docs/PROTOCOL.md alone, without calling the Rust code: recomputes every TOTP
value with hmac/hashlib, rebuilds every body and payload byte for byte with struct and
base64, and checks the S1 signatures with the `cryptography` package's Ed25519.

Run: python3 -m pytest tests/vectors -q   (requirements: tests/vectors/requirements.txt)
"""

import base64
import hashlib
import hmac
import json
import re
import struct
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = Path(__file__).resolve().parent

# PROTOCOL.md §8: domain-separation tags.
CREDENTIAL_DOMAIN = b"tessera/v1/s1/credential\x00"
STEP_DOMAIN = b"tessera/v1/s1/step\x00"
RELEASE_DOMAIN = b"tessera/v1/release\x00"

HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
ALGORITHM_CODE = {"SHA1": 0, "SHA256": 1, "SHA512": 2}
MAX_BODY = 1024


def load(name):
    return json.loads((HERE / name).read_text(encoding="utf-8"))["vectors"]


T1 = load("t1.json")
S1 = load("s1.json")


def ids(vectors):
    return [v["name"] for v in vectors]


# --- PROTOCOL.md §2-§4, §6 -------------------------------------------------------------


def step_of(unix_time, period):
    assert 5 <= period <= 60
    return max(unix_time, 0) // period


def totp(algorithm, key, step, digits):
    mac = hmac.new(key, struct.pack(">Q", step), HASHES[algorithm]).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return binary % 10**digits


def release_mac(secret, ticket_id, step):
    msg = RELEASE_DOMAIN + ticket_id + struct.pack(">Q", step)
    return hmac.new(secret, msg, hashlib.sha256).digest()[:8]


def b32(body):
    return base64.b32encode(body).decode("ascii").rstrip("=")


def b32_strict_decode(text):
    """Canonical unpadded upper-case base32 (§3); raises ValueError otherwise."""
    if len(text) > -(-MAX_BODY * 8 // 5):
        raise ValueError("too long")
    if not re.fullmatch(r"[A-Z2-7]*", text) or len(text) % 8 in (1, 3, 6):
        raise ValueError("not base32")
    body = base64.b32decode(text + "=" * (-len(text) % 8))
    if b32(body) != text:  # non-zero unused bits in the last character
        raise ValueError("non-canonical base32")
    return body


def hexopt(v, key):
    return None if v[key] is None else bytes.fromhex(v[key])


# --- T1 (§5) ------------------------------------------------------------------------------


def t1_body(v):
    digits, period = v["digits"], v["period"]
    ticket = bytes.fromhex(v["ticket_id_hex"])
    step = step_of(v["unix_time"], period)
    event_seed = hexopt(v, "event_seed_hex")
    release = hexopt(v, "release_secret_hex")
    flags = ALGORITHM_CODE[v["algorithm"]]
    if event_seed is not None:
        flags |= 0x04
    if release is not None:
        flags |= 0x08
    body = struct.pack(">BBBB", 1, flags, digits, period) + ticket
    body += struct.pack(">QQI", v["event_id"], step, totp(v["algorithm"], bytes.fromhex(v["seed_hex"]), step, digits))
    if event_seed is not None:
        body += struct.pack(">I", totp(v["algorithm"], event_seed, step, digits))
    if release is not None:
        body += release_mac(release, ticket, step)
    return body


def parse_t1(body):
    """§5 and §9 rules; returns a dict of fields or raises ValueError."""
    if len(body) < 40:
        raise ValueError("truncated")
    version, flags, digits, period = body[:4]
    if version != 1 or flags & 0xF0 or flags & 0x03 == 3:
        raise ValueError("version/flags")
    if not 6 <= digits <= 9 or not 5 <= period <= 60:
        raise ValueError("digits/period")
    want = 40 + (4 if flags & 0x04 else 0) + (8 if flags & 0x08 else 0)
    if len(body) != want:
        raise ValueError("length")
    event_id, step, code = struct.unpack(">QQI", body[20:40])
    out = {
        "algorithm": ["SHA1", "SHA256", "SHA512"][flags & 0x03],
        "digits": digits,
        "period": period,
        "ticket_id_hex": body[4:20].hex(),
        "event_id": event_id,
        "step": step,
        "totp": code,
        "event_totp": None,
        "release_mac_hex": None,
    }
    pos = 40
    if flags & 0x04:
        out["event_totp"] = struct.unpack(">I", body[pos : pos + 4])[0]
        pos += 4
    if flags & 0x08:
        out["release_mac_hex"] = body[pos : pos + 8].hex()
    for c in (out["totp"], out["event_totp"]):
        if c is not None and c >= 10**digits:
            raise ValueError("code range")
    return out


# RFC 6238 Appendix B, copied from the RFC (8 digits, 30 s, T0 = 0).
RFC_SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC_APPENDIX_B = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize("time,sha1,sha256,sha512", RFC_APPENDIX_B)
def test_rfc6238_appendix_b(time, sha1, sha256, sha512):
    for alg, want in (("SHA1", sha1), ("SHA256", sha256), ("SHA512", sha512)):
        assert f"{totp(alg, RFC_SEEDS[alg], step_of(time, 30), 8):08d}" == want
        matches = [
            v
            for v in T1
            if v["algorithm"] == alg
            and v["unix_time"] == time
            and v["period"] == 30
            and v["digits"] == 8
            and bytes.fromhex(v["seed_hex"]) == RFC_SEEDS[alg]
        ]
        assert matches, f"{alg} at {time} missing from t1.json"
        assert all(v["totp"] == want for v in matches)


@pytest.mark.parametrize("v", T1, ids=ids(T1))
def test_t1_vector(v):
    digits = v["digits"]
    step = step_of(v["unix_time"], v["period"])
    assert step == v["step"]
    code = totp(v["algorithm"], bytes.fromhex(v["seed_hex"]), step, digits)
    assert f"{code:0{digits}d}" == v["totp"]
    event_seed = hexopt(v, "event_seed_hex")
    if event_seed is None:
        assert v["event_totp"] is None
    else:
        assert f"{totp(v['algorithm'], event_seed, step, digits):0{digits}d}" == v["event_totp"]
    release = hexopt(v, "release_secret_hex")
    ticket = bytes.fromhex(v["ticket_id_hex"])
    if release is None:
        assert v["release_mac_hex"] is None
    else:
        assert release_mac(release, ticket, step).hex() == v["release_mac_hex"]

    body = t1_body(v)
    assert body.hex() == v["body_hex"]
    assert len(body) == v["body_len"] and body[1] == v["flags"]
    assert "T1:" + b32(body) == v["payload"]

    # And back: the payload parses to the vector's fields.
    assert v["payload"].startswith("T1:")
    parsed = parse_t1(b32_strict_decode(v["payload"][3:]))
    assert parsed["algorithm"] == v["algorithm"]
    assert parsed["digits"] == digits and parsed["period"] == v["period"]
    assert parsed["ticket_id_hex"] == v["ticket_id_hex"]
    assert parsed["event_id"] == v["event_id"] and parsed["step"] == step
    assert f"{parsed['totp']:0{digits}d}" == v["totp"]
    assert parsed["event_totp"] == (None if v["event_totp"] is None else int(v["event_totp"]))
    assert parsed["release_mac_hex"] == v["release_mac_hex"]


def test_t1_parser_rejects_malformed_bodies():
    body = bytes.fromhex(T1[-1]["body_hex"])
    parse_t1(body)
    bad = [
        body + b"\x00",
        body[:-1],
        b"\x02" + body[1:],
        body[:1] + bytes([body[1] | 0x10]) + body[2:],
        body[:1] + bytes([body[1] | 0x03]) + body[2:],
        body[:2] + b"\x05" + body[3:],
        body[:2] + b"\x0a" + body[3:],
        body[:3] + b"\x04" + body[4:],
        body[:3] + b"\x3d" + body[4:],
        body[:36] + struct.pack(">I", 10 ** body[2]) + body[40:],
    ]
    for b in bad:
        with pytest.raises(ValueError):
            parse_t1(b)


def test_strict_base32():
    # A 44-byte body: 71 characters, the last one carries 3 unused bits.
    text = next(v for v in T1 if v["body_len"] == 44)["payload"][3:]
    assert b32_strict_decode(text)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    unused_bit_set = alphabet[alphabet.index(text[-1]) | 1]
    assert unused_bit_set != text[-1]
    for t in (text.lower(), text + "=", text + "AA", text[:-1] + unused_bit_set, text + " ", "A" * 1640):
        with pytest.raises(ValueError):
            b32_strict_decode(t)


# --- S1 (§7) ------------------------------------------------------------------------------


def private_key(seed_hex):
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))


def raw_public(key):
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def verifies(public, sig, msg):
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, msg)
        return True
    except InvalidSignature:
        return False


def credential_bytes(v):
    seat = v["seat"].encode("utf-8")
    assert len(seat) <= 64
    assert v["valid_until"] > v["reveal_opens_at"] and 5 <= v["period"] <= 60
    flags = (1 if v["strict_jit"] else 0) | (2 if v["reentry"] else 0) | (4 if v["personalised"] else 0)
    return (
        struct.pack(">BI", 1, v["key_id"])
        + bytes.fromhex(v["ticket_id_hex"])
        + struct.pack(">QqqBB", v["event_id"], v["reveal_opens_at"], v["valid_until"], v["period"], flags)
        + bytes.fromhex(v["device_public_key_hex"])
        + bytes([len(seat)])
        + seat
    )


@pytest.mark.parametrize("v", S1, ids=ids(S1))
def test_s1_vector(v):
    issuer = private_key(v["issuer_seed_hex"])
    device = private_key(v["device_seed_hex"])
    issuer_pk = bytes.fromhex(v["issuer_public_key_hex"])
    device_pk = bytes.fromhex(v["device_public_key_hex"])
    assert raw_public(issuer) == issuer_pk
    assert raw_public(device) == device_pk

    # Level 1: the credential and the issuer signature.
    cred = credential_bytes(v)
    assert cred.hex() == v["credential_hex"]
    issuer_sig = bytes.fromhex(v["issuer_sig_hex"])
    assert verifies(issuer_pk, issuer_sig, CREDENTIAL_DOMAIN + cred)
    assert not verifies(issuer_pk, issuer_sig, cred)
    assert not verifies(device_pk, issuer_sig, CREDENTIAL_DOMAIN + cred)
    assert issuer.sign(CREDENTIAL_DOMAIN + cred) == issuer_sig  # Ed25519 is deterministic

    # Level 2: step, release MAC, device signature.
    step = step_of(v["unix_time"], v["period"])
    assert step == v["step"]
    ticket = bytes.fromhex(v["ticket_id_hex"])
    release = hexopt(v, "release_secret_hex")
    assert (release is not None) == v["strict_jit"]
    mac = None if release is None else release_mac(release, ticket, step)
    assert (None if mac is None else mac.hex()) == v["release_mac_hex"]
    frame_flags = b"\x00" if mac is None else b"\x01"
    digest = hashlib.sha256(cred).digest()
    assert digest.hex() == v["credential_sha256_hex"]
    msg = STEP_DOMAIN + digest + struct.pack(">Q", step) + frame_flags + (mac or b"")
    assert msg.hex() == v["device_message_hex"]
    device_sig = bytes.fromhex(v["device_sig_hex"])
    assert verifies(device_pk, device_sig, msg)
    assert device.sign(msg) == device_sig
    for i in range(len(msg)):
        flipped = bytearray(msg)
        flipped[i] ^= 0x01
        assert not verifies(device_pk, device_sig, bytes(flipped)), f"byte {i}"
    assert not verifies(issuer_pk, device_sig, msg)

    # The frame and the payload.
    body = cred + issuer_sig + struct.pack(">Q", step) + frame_flags + (mac or b"") + device_sig
    assert len(body) == v["body_len"] == (217 if mac is None else 225) + len(v["seat"].encode())
    assert body.hex() == v["body_hex"]
    assert "S1:" + b32(body) == v["payload"]
    assert b32_strict_decode(v["payload"][3:]) == body


def test_s1_offsets_match_the_table():
    v = next(x for x in S1 if x["release_mac_hex"] is not None)
    body = bytes.fromhex(v["body_hex"])
    n = body[79]
    assert n == len(v["seat"].encode())
    assert body[80 + n : 144 + n].hex() == v["issuer_sig_hex"]
    assert struct.unpack(">Q", body[144 + n : 152 + n])[0] == v["step"]
    assert body[152 + n] == 1
    assert body[153 + n : 161 + n].hex() == v["release_mac_hex"]
    assert body[161 + n :].hex() == v["device_sig_hex"]
