"""Independent implementation of the Tessera rotating codes (protocol revision 2: T1, S1
and the compact C1) and of the gate checklist and of the signed bundle document, checked
against the vectors (t1.json, s1.json, c1.json, reject.json, bundle.json, release.json).

Written from docs/PROTOCOL.md alone, without calling the Rust code or reading anything it
computed other than the vector files: recomputes every TOTP value with hmac/hashlib,
rebuilds every body and payload byte for byte with struct, base64 and the C1 digit groups
(§7.7.2), checks the S1 and C1 signatures with the `cryptography` package's Ed25519, and
runs a gate of its own (§10: `Gate.scan`, with the bundle's `credentials` for C1) over
every gate vector, which must reach the vector's verdict, and over every positive vector,
which it must admit; opens every signed bundle document of bundle.json (§10.2.1:
`open_document`) with its pinned keys; and reads every release object of release.json
(§14: `read_release`), rebuilding the positive ones byte for byte and refusing the others
for the recorded reason.

Run: python3 -m pytest tests/vectors -q   (requirements: tests/vectors/requirements.txt)
"""

import base64
import copy
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
C1_STEP_DOMAIN = b"tessera/v3/c1/step\x00"
T1_RELEASE_DOMAIN = b"tessera/v2/t1/release\x00"
S1_RELEASE_DOMAIN = b"tessera/v2/s1/release\x00"
# PROTOCOL.md §5.1, §7.1, §13: revision 2.
VERSION = 2

HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
ALGORITHM_CODE = {"SHA1": 0, "SHA256": 1, "SHA512": 2}
MAX_BODY = 1024


def load(name):
    return json.loads((HERE / name).read_text(encoding="utf-8"))["vectors"]


T1 = load("t1.json")
S1 = load("s1.json")
C1 = load("c1.json")


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


def t1_release_mac(secret, event_id, ticket_id, step):
    """§6, T1: bound to the event, the ticket and the step."""
    msg = T1_RELEASE_DOMAIN + struct.pack(">Q", event_id) + ticket_id + struct.pack(">Q", step)
    assert len(msg) == 54
    return hmac.new(secret, msg, hashlib.sha256).digest()[:8]


def s1_release_mac(secret, event_id, ticket_id, step, credential):
    """§6, S1: bound to the event, the ticket, the step and the exact credential bytes."""
    msg = (
        S1_RELEASE_DOMAIN
        + struct.pack(">Q", event_id)
        + ticket_id
        + struct.pack(">Q", step)
        + hashlib.sha256(credential).digest()
    )
    assert len(msg) == 86
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
    body = struct.pack(">BBBB", VERSION, flags, digits, period) + ticket
    body += struct.pack(">QQI", v["event_id"], step, totp(v["algorithm"], bytes.fromhex(v["seed_hex"]), step, digits))
    if event_seed is not None:
        body += struct.pack(">I", totp(v["algorithm"], event_seed, step, digits))
    if release is not None:
        body += t1_release_mac(release, v["event_id"], ticket, step)
    return body


def parse_t1(body):
    """§5 and §9 rules; returns a dict of fields or raises ValueError."""
    if len(body) < 40:
        raise ValueError("truncated")
    version, flags, digits, period = body[:4]
    if version != VERSION or flags & 0xF0 or flags & 0x03 == 3:
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
        pos += 8
    assert pos == len(body)
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
        assert t1_release_mac(release, v["event_id"], ticket, step).hex() == v["release_mac_hex"]
        # Bound to the event: the same secret, ticket and step in another event differ.
        assert t1_release_mac(release, v["event_id"] ^ 1, ticket, step).hex() != v["release_mac_hex"]

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
        b"\x01" + body[1:],  # revision 1 (§13)
        b"\x03" + body[1:],
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
        struct.pack(">BI", VERSION, v["key_id"])
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
    mac = None if release is None else s1_release_mac(release, v["event_id"], ticket, step, cred)
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


# --- C1 (§7.7) ------------------------------------------------------------------------------

# §7.7.2: decimal digits of a group of n bytes (the fewest that hold 256^n - 1).
C1_GROUP_DIGITS = {1: 3, 2: 5, 3: 8, 4: 10, 5: 13, 6: 15, 7: 17}
# §7.7.1: flags, then the body length the flags imply.
C1_FLAGS_PLAIN, C1_FLAGS_MAC = 0x01, 0x81
C1_LEN_PLAIN = 1 + 4 + 2 + 64
C1_LEN_MAC = C1_LEN_PLAIN + 8


def c1_groups(length):
    """The byte count of each group of a body of `length` bytes (groups of 7 from the start)."""
    return [min(7, length - at) for at in range(0, length, 7)]


def c1_digit_count(length):
    return sum(C1_GROUP_DIGITS[n] for n in c1_groups(length))


def c1_digits(body):
    out, at = [], 0
    for n in c1_groups(len(body)):
        out.append(f"{int.from_bytes(body[at : at + n], 'big'):0{C1_GROUP_DIGITS[n]}d}")
        at += n
    return "".join(out)


def c1_decode_digits(text):
    """§7.7.2: the digit part (bytes) -> body bytes; raises ValueError unless canonical.

    int() alone would take signs, underscores, whitespace and non-ASCII digits: every byte
    is checked first."""
    lengths = {c1_digit_count(C1_LEN_PLAIN): C1_LEN_PLAIN, c1_digit_count(C1_LEN_MAC): C1_LEN_MAC}
    if len(text) not in lengths:
        raise ValueError("C1 digit count")
    if not re.fullmatch(rb"[0-9]*", text):
        raise ValueError("not a digit")
    body, at = b"", 0
    for n in c1_groups(lengths[len(text)]):
        width = C1_GROUP_DIGITS[n]
        value = int(text[at : at + width].decode("ascii"))
        if value >= 256**n:
            raise ValueError("non-canonical group")
        body += value.to_bytes(n, "big")
        at += width
    return body


def parse_c1(body):
    """§7.7.1: the body -> its fields; raises ValueError for a bad flags byte or length."""
    if not body or body[0] not in (C1_FLAGS_PLAIN, C1_FLAGS_MAC):
        raise ValueError("C1 flags")
    with_mac = body[0] == C1_FLAGS_MAC
    if len(body) != (C1_LEN_MAC if with_mac else C1_LEN_PLAIN):
        raise ValueError("C1 length")
    reference, step_low = struct.unpack(">IH", body[1:7])
    mac = body[7:15] if with_mac else None
    return {
        "flags": body[0],
        "reference": reference,
        "step_low": step_low,
        "mac": mac,
        "device_sig": body[15:] if with_mac else body[7:],
    }


def c1_reference(credential):
    """§7.7.1: the first 4 bytes of SHA-256 of the credential bytes (no issuer signature)."""
    return struct.unpack(">I", hashlib.sha256(credential).digest()[:4])[0]


def c1_device_message(credential, step, mac):
    """§7.7.1: the whole step, as u64, and the flags of the body."""
    flags = C1_FLAGS_PLAIN if mac is None else C1_FLAGS_MAC
    return C1_STEP_DOMAIN + hashlib.sha256(credential).digest() + struct.pack(">QB", step, flags) + (mac or b"")


def c1_step_near(step_low, gate_step):
    """§7.7.1: of the steps = step_low (mod 65536), the one nearest the gate's step.

    PROTOCOL.md does not say which of two steps exactly 32768 away is taken; this takes
    the lower, as the reference gate does (vectors c1-step-32768-*)."""
    base = gate_step - gate_step % 65536 + step_low
    candidates = [s for s in (base - 65536, base, base + 65536) if 0 <= s <= U64_MAX]
    return min(candidates, key=lambda s: (abs(s - gate_step), s))


U64_MAX = 2**64 - 1


@pytest.mark.parametrize("v", C1, ids=ids(C1))
def test_c1_vector(v):
    issuer = private_key(v["issuer_seed_hex"])
    device = private_key(v["device_seed_hex"])
    issuer_pk = bytes.fromhex(v["issuer_public_key_hex"])
    device_pk = bytes.fromhex(v["device_public_key_hex"])
    assert raw_public(issuer) == issuer_pk and raw_public(device) == device_pk

    # The credential and its issuer signature: as S1 (§7.1, §7.2).
    cred = credential_bytes(v)
    assert cred.hex() == v["credential_hex"]
    issuer_sig = issuer.sign(CREDENTIAL_DOMAIN + cred)
    assert issuer_sig.hex() == v["issuer_sig_hex"]
    assert (cred + issuer_sig).hex() == v["signed_credential_hex"]  # the bundle's entry (§10.2)
    digest = hashlib.sha256(cred).digest()
    assert digest.hex() == v["credential_sha256_hex"]
    reference = c1_reference(cred)
    assert reference == v["reference"] and digest[:4].hex() == v["reference_hex"]

    # The step: whole in the signed messages, its low 16 bits in the body.
    step = step_of(v["unix_time"], v["period"])
    assert step == v["step"] and step % 65536 == v["step_low"]
    ticket = bytes.fromhex(v["ticket_id_hex"])
    release = hexopt(v, "release_secret_hex")
    assert (release is not None) == v["strict_jit"]  # a generator adds the MAC iff strict
    mac = None if release is None else s1_release_mac(release, v["event_id"], ticket, step, cred)
    assert (None if mac is None else mac.hex()) == v["release_mac_hex"]
    msg = c1_device_message(cred, step, mac)
    assert msg.hex() == v["device_message_hex"]
    assert len(msg) == (60 if mac is None else 68)
    device_sig = device.sign(msg)
    assert device_sig.hex() == v["device_sig_hex"]
    assert gate_verifies(device_pk, device_sig, msg)
    # Not an S1 step signature, nor one of another step with the same low bits.
    s1_msg = STEP_DOMAIN + digest + struct.pack(">QB", step, 0 if mac is None else 1) + (mac or b"")
    assert not verifies(device_pk, device_sig, s1_msg)
    assert not verifies(device_pk, device_sig, c1_device_message(cred, step + 65536, mac))

    # The body and its digits.
    flags = C1_FLAGS_PLAIN if mac is None else C1_FLAGS_MAC
    body = struct.pack(">BIH", flags, reference, step % 65536) + (mac or b"") + device_sig
    assert v["flags"] == flags and len(body) == v["body_len"] == (71 if mac is None else 79)
    assert body.hex() == v["body_hex"]
    digits = c1_digits(body)
    assert len(digits) == (173 if mac is None else 192)
    assert digits == v["digits"] and "C1:" + digits == v["payload"]

    # And back.
    assert c1_decode_digits(v["payload"][3:].encode("ascii")) == body
    parsed = parse_c1(body)
    assert parsed == {"flags": flags, "reference": reference, "step_low": step % 65536, "mac": mac, "device_sig": device_sig}
    for gate_step in (max(step - 32767, 0), step, step + 32767):
        assert c1_step_near(parsed["step_low"], gate_step) == step



def test_c1_worked_example_is_the_s1_credential_as_a_c1_code():
    """§11.6: the S1 worked example's credential, step and release MAC (§7.7: one
    credential, one MAC, two formats), another device message and signature."""
    s1 = next(x for x in S1 if x["name"] == "s1-strict-jit-personalised-utf8-seat")
    c1 = next(x for x in C1 if x["name"] == "c1-strict-jit-personalised-utf8-seat")
    for k in ("credential_hex", "issuer_sig_hex", "credential_sha256_hex", "step", "release_mac_hex"):
        assert s1[k] == c1[k], k
    assert s1["device_sig_hex"] != c1["device_sig_hex"]
    assert c1["device_message_hex"][:38] == C1_STEP_DOMAIN.hex()
    assert c1["device_message_hex"][38:] == s1["device_message_hex"][38:-18] + "81" + s1["release_mac_hex"]


def test_c1_worked_example_in_the_protocol_is_the_vector():
    """PROTOCOL.md §11.6 quotes the vector's bytes."""
    doc = (HERE.parent.parent / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    section = doc[doc.index("### 11.6 ") : doc.index("## 12. ")]
    v = next(x for x in C1 if x["name"] == "c1-strict-jit-personalised-utf8-seat")
    body = bytes.fromhex(v["body_hex"])
    for part in (v["payload"], v["credential_sha256_hex"], v["reference_hex"], v["release_mac_hex"], v["device_sig_hex"]):
        assert part in section, part
    assert f"`{body[5:7].hex()}`" in section and v["digits"][:17] in section and v["digits"][-5:] in section


def test_c1_digits_are_canonical():
    """§7.7.2: lengths, bytes and group values; §7.7.1: flags and the length they imply."""
    for v in C1:
        text = v["payload"][3:].encode("ascii")
        body = bytes.fromhex(v["body_hex"])
        c1_decode_digits(text)
        bad = [text[:-1], text + b"0", b"", b"+" + text[1:], text[:20] + b"_" + text[21:], text[:20] + b" " + text[21:]]
        bad.append(text[:20] + "\uff13".encode() + text[23:])  # a full-width 3, length kept
        bad.append(text[:20] + "\u0663".encode() + text[22:])  # an Arabic-Indic 3, length kept
        at = 0
        for n in c1_groups(len(body)):
            width = C1_GROUP_DIGITS[n]
            for value in (256**n, 10**width - 1):
                bad.append(text[:at] + f"{value:0{width}d}".encode() + text[at + width :])
            at += width
        for t in bad:
            with pytest.raises(ValueError):
                parse_c1(c1_decode_digits(t))
        for flags in (0x00, 0x02, 0x41, 0x80, 0xFF, body[0] ^ 0x80):
            with pytest.raises(ValueError):
                parse_c1(bytes([flags]) + body[1:])
        for length in (70, 72, 73, 78, 80, 81):
            with pytest.raises(ValueError):
                parse_c1(c1_decode_digits(c1_digits((body + bytes(16))[:length]).encode()))


# --- The gate (§10) -----------------------------------------------------------------------
#
# Written from PROTOCOL.md §10 alone: the checklist, in order, first failure wins.

GATE = json.loads((HERE / "reject.json").read_text(encoding="utf-8"))
REASONS = {
    "malformed",
    "unknown_ticket",
    "wrong_event",
    "unknown_key",
    "bad_signature",
    "wrong_device",
    "not_released",
    "not_yet_valid",
    "expired",
    "stale",
    "revoked",
    "replay",
    "already_admitted",
}
BUNDLE_ALGORITHMS = {"Sha1": "SHA1", "Sha256": "SHA256", "Sha512": "SHA512"}


class Refused(Exception):
    def __init__(self, reason):
        assert reason in REASONS, reason
        super().__init__(reason)
        self.reason = reason


class Cursor:
    """Reads fields off a body; running short is malformed (§9 rule 6)."""

    def __init__(self, body):
        self.body, self.pos = body, 0

    def take(self, n):
        if self.pos + n > len(self.body):
            raise Refused("malformed")
        out = self.body[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def end(self):
        if self.pos != len(self.body):
            raise Refused("malformed")


def decode_payload(data):
    """§3, §9, §10.1: the payload bytes exactly -> (prefix, body). Nothing is trimmed."""
    prefix, text = data[:3], data[3:]
    if prefix == b"C1:":  # §9 rule 1: digits, §7.7.2
        try:
            return prefix, c1_decode_digits(text)
        except ValueError:
            raise Refused("malformed") from None
    if prefix not in (b"T1:", b"S1:"):
        raise Refused("malformed")
    if len(text) > 1639:
        raise Refused("malformed")
    if not re.fullmatch(rb"[A-Z2-7]*", text) or len(text) % 8 in (1, 3, 6):
        raise Refused("malformed")
    body = base64.b32decode(text + b"=" * (-len(text) % 8))
    if base64.b32encode(body).rstrip(b"=") != text:  # non-zero unused bits
        raise Refused("malformed")
    return prefix, body


def gate_parse_t1(body):
    """§5 and §9 rule 4 and 6."""
    c = Cursor(body)
    version, flags, digits, period = c.u8(), c.u8(), c.u8(), c.u8()
    if version != VERSION or flags & 0xF0 or flags & 0x03 == 3:
        raise Refused("malformed")
    if not 6 <= digits <= 9 or not 5 <= period <= 60:
        raise Refused("malformed")
    code = {
        "algorithm": ["SHA1", "SHA256", "SHA512"][flags & 0x03],
        "digits": digits,
        "period": period,
        "ticket": c.take(16),
        "event": c.u64(),
        "step": c.u64(),
        "totp": c.u32(),
    }
    code["event_totp"] = c.u32() if flags & 0x04 else None
    code["mac"] = c.take(8) if flags & 0x08 else None
    c.end()
    for value in (code["totp"], code["event_totp"]):
        if value is not None and value >= 10**digits:
            raise Refused("malformed")
    return code


def read_credential(c, body):
    """§7.1 and §9 rule 5 (the credential's part), from a cursor at its first byte."""
    start = c.pos
    if c.u8() != VERSION:
        raise Refused("malformed")
    code = {"key_id": c.u32(), "ticket": c.take(16), "event": c.u64()}
    code["reveal_opens_at"], code["valid_until"] = c.i64(), c.i64()
    if code["valid_until"] <= code["reveal_opens_at"]:
        raise Refused("malformed")
    code["period"], flags = c.u8(), c.u8()
    if not 5 <= code["period"] <= 60 or flags & 0xF8:
        raise Refused("malformed")
    code["strict_jit"], code["reentry"] = bool(flags & 1), bool(flags & 2)
    code["device_public_key"] = c.take(32)
    seat_len = c.u8()
    if seat_len > 64:
        raise Refused("malformed")
    try:
        code["seat"] = c.take(seat_len).decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("malformed") from None
    code["credential"] = body[start : c.pos]
    code["issuer_sig"] = c.take(64)
    return code


def gate_parse_s1(body):
    """§7.1, §7.3 and §9 rules 5 and 6."""
    c = Cursor(body)
    code = read_credential(c, body)
    code["step"] = c.u64()
    frame_flags = c.u8()
    if frame_flags not in (0, 1):
        raise Refused("malformed")
    code["frame_flags"] = frame_flags
    code["mac"] = c.take(8) if frame_flags == 1 else None
    code["device_sig"] = c.take(64)
    c.end()
    digest = hashlib.sha256(code["credential"]).digest()
    code["device_msg"] = STEP_DOMAIN + digest + struct.pack(">QB", code["step"], frame_flags) + (code["mac"] or b"")
    return code


def signed_credential(data):
    """A bundle's `credentials` entry (§10.2): credential ‖ issuer signature, nothing after."""
    c = Cursor(data)
    try:
        cred = read_credential(c, data)
        c.end()
    except Refused:
        raise ValueError("not a signed credential") from None
    cred["reference"] = c1_reference(cred["credential"])
    cred["digest"] = hashlib.sha256(cred["credential"]).digest()
    return cred


def hex_bytes(text, size=None):
    if not isinstance(text, str) or not re.fullmatch(r"(?:[0-9a-fA-F]{2})*", text):
        raise ValueError("not hex")
    out = bytes.fromhex(text)
    if size is not None and len(out) != size:
        raise ValueError("wrong length")
    return out


def integer(value, low, high):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError("not an integer in range")
    return value


def decimal_key(text, high):
    if not re.fullmatch(r"[0-9]+", text):
        raise ValueError("not a decimal key")
    return integer(int(text), 0, high)


def boolean(value):
    if not isinstance(value, bool):
        raise ValueError("not a boolean")
    return value


def array(j, key):
    value = j.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{key}: not an array")
    return value


def obj(j, key):
    value = j.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{key}: not an object")
    return value


def text_values(m):
    if not all(isinstance(v, str) for v in m.values()):
        raise ValueError("not a string")
    return m


U64 = 2**64 - 1
I64 = (-(2**63), 2**63 - 1)


class Bundle:
    """§10.2: reads and validates the bundle JSON; raises ValueError for a bad bundle.

    A bundle with `since_seq` is an update (§10.2.1): it lists only the `changed` tickets.
    """

    def __init__(self, j):
        try:
            self.load(j)
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"bundle: {e!r}") from None
        self.check()

    def load(self, j):
        if not isinstance(j, dict):
            raise ValueError("not an object")
        self.event = integer(j["event"], 0, U64)
        self.seq = integer(j.get("seq", 0), 0, U64)
        self.issued_at_ms = integer(j.get("issued_at_ms", 0), *I64)
        self.strict_jit = boolean(j.get("strict_jit", False))
        since = j.get("since_seq")
        self.since_seq = None if since is None else integer(since, 0, U64)
        self.changed = {hex_bytes(t, 16) for t in array(j, "changed")}
        self.period = integer(j["period_secs"], 5, 60)
        self.valid_from = integer(j["valid_from"], *I64)
        self.valid_until = integer(j["valid_until"], *I64)
        if not isinstance(j["issuer_keys"], dict):
            raise ValueError("issuer_keys")
        self.issuer_keys = {decimal_key(k, 2**32 - 1): hex_bytes(v, 32) for k, v in j["issuer_keys"].items()}
        self.revoked = {hex_bytes(t, 16) for t in array(j, "revoked")}
        self.revoked_credentials = {hex_bytes(d, 32) for d in array(j, "revoked_credentials")}
        self.reentry = j.get("reentry", "FollowCredential")
        self.holder_names = {hex_bytes(t, 16): n for t, n in text_values(obj(j, "holder_names")).items()}
        self.seats = {hex_bytes(t, 16): s for t, s in text_values(obj(j, "seats")).items()}
        self.release_secrets = {decimal_key(e, U64): hex_bytes(s) for e, s in obj(j, "release_secrets").items()}
        self.credentials = [signed_credential(hex_bytes(c)) for c in array(j, "credentials")]
        t1 = j.get("t1")
        self.t1 = None
        if t1 is not None:
            if not isinstance(t1["ticket_seeds"], dict):
                raise ValueError("ticket_seeds")
            event_seed = None if t1.get("event_seed") is None else hex_bytes(t1["event_seed"])
            self.t1 = {
                "algorithm": BUNDLE_ALGORITHMS[t1["algorithm"]],
                "digits": integer(t1["digits"], 6, 9),
                "event_seed": event_seed,
                "seeds": {hex_bytes(t, 16): hex_bytes(s) for t, s in t1["ticket_seeds"].items()},
            }

    def check(self):
        """The rules of §10.2 between fields: also what the result of an update must meet."""
        if not 5 <= self.period <= 60:
            raise ValueError("period")
        if self.valid_until <= self.valid_from:
            raise ValueError("window")
        if not all(acceptable_key(k) for k in self.issuer_keys.values()):
            raise ValueError("issuer key breaks §7.6 rule 1")
        if self.reentry not in ("Deny", "Allow", "FollowCredential"):
            raise ValueError("reentry")
        if any(not s for s in self.release_secrets.values()):
            raise ValueError("empty release secret")
        if self.since_seq is None and self.changed:
            raise ValueError("a whole bundle lists changed tickets")
        for c in self.credentials:  # of this event, binding a key somebody holds (§7.6 rule 1)
            if c["event"] != self.event or not acceptable_key(c["device_public_key"]):
                raise ValueError("credential of another event or with an unacceptable device key")
        if self.t1 is not None:
            if not 6 <= self.t1["digits"] <= 9:
                raise ValueError("digits")
            if any(not s for s in self.t1["seeds"].values()) or self.t1["event_seed"] == b"":
                raise ValueError("empty seed")

    @property
    def release_secret(self):
        # Only the entry for this bundle's event is ever used.
        return self.release_secrets.get(self.event)


# §7.6: which Ed25519 keys and signatures verify.
ED25519_P = 2**255 - 19
ED25519_L = 2**252 + 27742317777372353535851937790883648493
SMALL_ORDER_Y = {
    bytes.fromhex(h)
    for h in (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    )
}


def small_order(point):
    return point[:31] + bytes([point[31] & 0x7F]) in SMALL_ORDER_Y


def acceptable_key(key):
    """§7.6 rule 1."""
    if len(key) != 32:
        return False
    y = int.from_bytes(key, "little") & ~(1 << 255)
    return y < ED25519_P and not small_order(key)


def gate_verifies(public, sig, msg):
    """§7.6 rules 1-4."""
    return (
        acceptable_key(public)
        and len(sig) == 64
        and int.from_bytes(sig[32:], "little") < ED25519_L
        and not small_order(sig[:32])
        and verifies(public, sig, msg)
    )


def ct_equal_int(a, b):
    return hmac.compare_digest(a.to_bytes(8, "big"), b.to_bytes(8, "big"))


class Gate:
    """A gate for one bundle, with its state (§10.3)."""

    def __init__(self, bundle_json):
        self.bundle = Bundle(bundle_json)
        self.seen = set()
        self.admitted = set()

    def window(self, now_ms, from_s, until_s):
        if now_ms < from_s * 1000:
            raise Refused("not_yet_valid")
        if now_ms >= until_s * 1000:
            raise Refused("expired")

    def fresh(self, step, now_ms):
        gate_step = max(now_ms, 0) // (self.bundle.period * 1000)
        if abs(step - gate_step) > 1:
            raise Refused("stale")

    def check_t1(self, c, now_ms):
        """§10.4 T1.2-T1.8; returns (seat, re-entry allowed)."""
        b = self.bundle
        if c["event"] != b.event or c["period"] != b.period:  # T1.2
            raise Refused("wrong_event")
        if b.t1 is None or c["ticket"] not in b.t1["seeds"]:  # T1.3
            raise Refused("unknown_key")
        t1, step = b.t1, c["step"]
        ok = c["algorithm"] == t1["algorithm"] and c["digits"] == t1["digits"]  # T1.4
        ok &= ct_equal_int(totp(t1["algorithm"], t1["seeds"][c["ticket"]], step, t1["digits"]), c["totp"])
        if t1["event_seed"] is None:
            ok &= c["event_totp"] is None
        else:
            want = totp(t1["algorithm"], t1["event_seed"], step, t1["digits"])
            ok &= c["event_totp"] is not None and ct_equal_int(want, c["event_totp"])
        # A MAC the gate cannot check is refused, unless the event is strict: then T1.5
        # refuses the code for the missing secret, with or without a MAC.
        ok &= b.release_secret is not None or b.strict_jit or c["mac"] is None
        if not ok:
            raise Refused("bad_signature")
        if b.strict_jit or b.release_secret is not None:  # T1.5
            if b.release_secret is None:
                raise Refused("not_released")
            want = t1_release_mac(b.release_secret, c["event"], c["ticket"], step)
            if c["mac"] is None or not hmac.compare_digest(want, c["mac"]):
                raise Refused("not_released")
        self.window(now_ms, b.valid_from, b.valid_until)  # T1.6
        self.fresh(step, now_ms)  # T1.7
        if c["ticket"] in b.revoked:  # T1.8
            raise Refused("revoked")
        return b.seats.get(c["ticket"]), b.reentry == "Allow"

    def check_s1(self, c, now_ms):
        """§10.5 S1.2-S1.9 (and C1.3); returns (seat, re-entry allowed)."""
        b = self.bundle
        if c["event"] != b.event or c["period"] != b.period:  # S1.2
            raise Refused("wrong_event")
        if c["key_id"] not in b.issuer_keys:  # S1.3
            raise Refused("unknown_key")
        issuer_key = b.issuer_keys[c["key_id"]]
        if not gate_verifies(issuer_key, c["issuer_sig"], CREDENTIAL_DOMAIN + c["credential"]):
            raise Refused("bad_signature")  # S1.4
        if not acceptable_key(c["device_public_key"]):
            raise Refused("bad_signature")  # S1.4: a key nobody holds binds nothing
        digest = hashlib.sha256(c["credential"]).digest()
        # S1.5: the S1 message of the frame, or the C1 message of the code (§7.7.1).
        if not gate_verifies(c["device_public_key"], c["device_sig"], c["device_msg"]):
            raise Refused("wrong_device")
        if c["strict_jit"] or b.strict_jit or b.release_secret is not None:  # S1.6
            if b.release_secret is None or c["mac"] is None:
                raise Refused("not_released")
            want = s1_release_mac(b.release_secret, c["event"], c["ticket"], c["step"], c["credential"])
            if not hmac.compare_digest(want, c["mac"]):
                raise Refused("not_released")
        from_s = max(b.valid_from, c["reveal_opens_at"])  # S1.7
        until_s = min(b.valid_until, c["valid_until"])
        self.window(now_ms, from_s, until_s)
        self.fresh(c["step"], now_ms)  # S1.8
        if c["ticket"] in b.revoked or digest in b.revoked_credentials:  # S1.9
            raise Refused("revoked")
        reentry = {"Allow": True, "Deny": False, "FollowCredential": c["reentry"]}[b.reentry]
        seat = c["seat"] if c["seat"] else b.seats.get(c["ticket"])
        return seat, reentry

    def lookup_c1(self, body, now_ms):
        """§10.7 C1.1 (body) and C1.2: the credential a C1 code names, as a signed code
        for S1.2-S1.11 (C1.3)."""
        try:
            code = parse_c1(body)
        except ValueError:
            raise Refused("malformed") from None
        gate_step = max(now_ms, 0) // (self.bundle.period * 1000)
        step = c1_step_near(code["step_low"], gate_step)
        found = []
        for cred in self.bundle.credentials:  # in bundle order
            if cred["reference"] == code["reference"]:
                signed = dict(cred, step=step, mac=code["mac"], device_sig=code["device_sig"])
                signed["device_msg"] = c1_device_message(cred["credential"], step, code["mac"])
                found.append(signed)
        if not found:
            raise Refused("unknown_ticket")
        # Several share the reference: the one the device signature verifies under, else
        # the first in bundle order.
        for signed in found:
            if gate_verifies(signed["device_public_key"], signed["device_sig"], signed["device_msg"]):
                return signed
        return found[0]

    def scan(self, payload, now_ms):
        """Judges payload bytes at now_ms: ("admit", seat, holder name) or (reason, None, None)."""
        try:
            prefix, body = decode_payload(payload)  # T1.1 / S1.1 / C1.1 (digits)
            if prefix == b"T1:":
                code = gate_parse_t1(body)
                seat, reentry = self.check_t1(code, now_ms)
            elif prefix == b"S1:":
                code = gate_parse_s1(body)
                seat, reentry = self.check_s1(code, now_ms)
            else:
                code = self.lookup_c1(body, now_ms)  # C1.1 (body), C1.2
                seat, reentry = self.check_s1(code, now_ms)  # C1.3
        except Refused as r:
            return r.reason, None, None
        key = (code["ticket"], code["step"])  # one (ticket, step) for S1 and C1 (§10.7)
        if key in self.seen:  # T1.9 / S1.10
            verdict = ("replay", None, None)
        elif code["ticket"] in self.admitted and not reentry:  # T1.10 / S1.11
            verdict = ("already_admitted", None, None)
        else:
            verdict = ("admit", seat, self.bundle.holder_names.get(code["ticket"]))
        self.seen.add(key)  # §10.6
        if verdict[0] == "admit":
            self.admitted.add(code["ticket"])
        return verdict


def scanner_layer(raw):
    """§10.1: the one place a single trailing line terminator may be removed."""
    for end in (b"\r\n", b"\n", b"\r"):
        if raw.endswith(end):
            return raw[: -len(end)]
    return raw


def run_gate_vector(v):
    gate = Gate(GATE["bundles"][v["bundle"]])
    for i, p in enumerate(v["prior"]):
        got = gate.scan(p["payload"].encode("utf-8"), p["now_ms"])[0]
        assert got == p["expect"], f"prior scan {i}: {got}"
    payload = bytes.fromhex(v["payload_hex"]) if "payload_hex" in v else v["payload"].encode("utf-8")
    return gate.scan(payload, v["now_ms"])


@pytest.mark.parametrize("v", GATE["vectors"], ids=ids(GATE["vectors"]))
def test_gate_reject_vector(v):
    assert v["reason"] in REASONS
    assert run_gate_vector(v) == (v["reason"], None, None), v["rule"]


@pytest.mark.parametrize("v", GATE["admit"], ids=ids(GATE["admit"]))
def test_gate_admit_control(v):
    assert run_gate_vector(v) == ("admit", v["seat"], v["holder_name"])


def test_gate_vectors_cover_every_reason_and_rule():
    assert {v["reason"] for v in GATE["vectors"]} == REASONS
    rules = {v["rule"].split()[0] for v in GATE["vectors"]}
    assert {f"T1.{n}" for n in range(1, 11)} <= rules
    assert {f"S1.{n}" for n in range(1, 12)} <= rules
    assert {f"C1.{n}" for n in range(1, 4)} <= rules
    # Every reason applies to C1 (§10.7), and has a C1 vector.
    assert {v["reason"] for v in GATE["vectors"] if v["rule"].startswith("C1.")} == REASONS
    # The two credentials of c1-collision share a reference (4 digest bytes), not a digest.
    pair = [signed_credential(bytes.fromhex(c)) for c in GATE["bundles"]["c1-collision"]["credentials"]]
    assert len(pair) == 2 and pair[0]["reference"] == pair[1]["reference"]
    assert pair[0]["digest"] < pair[1]["digest"]


@pytest.mark.parametrize("v", GATE["invalid_bundles"], ids=ids(GATE["invalid_bundles"]))
def test_gate_invalid_bundle_is_refused(v):
    with pytest.raises(ValueError):
        Bundle(v["bundle"])


def test_gate_bundles_are_valid_and_s1_bundles_hold_no_seeds():
    for name, j in GATE["bundles"].items():
        b = Bundle(j)
        assert (b.t1 is not None) == name.startswith("t1"), name
        assert bool(b.credentials) == name.startswith("c1"), name
        # Issuers list credentials in digest order (§10.2).
        assert [c["digest"] for c in b.credentials] == sorted(c["digest"] for c in b.credentials), name


def t1_bundle_for(v):
    t = v["unix_time"]
    return {
        "event": v["event_id"],
        "period_secs": v["period"],
        "valid_from": t - 1,
        "valid_until": t + 1,
        "issuer_keys": {},
        "release_secrets": {} if v["release_secret_hex"] is None else {str(v["event_id"]): v["release_secret_hex"]},
        "t1": {
            "algorithm": {"SHA1": "Sha1", "SHA256": "Sha256", "SHA512": "Sha512"}[v["algorithm"]],
            "digits": v["digits"],
            "event_seed": v["event_seed_hex"],
            "ticket_seeds": {v["ticket_id_hex"]: v["seed_hex"]},
        },
    }


def s1_bundle_for(v):
    return {
        "event": v["event_id"],
        "period_secs": v["period"],
        "valid_from": v["reveal_opens_at"],
        "valid_until": v["valid_until"],
        "issuer_keys": {str(v["key_id"]): v["issuer_public_key_hex"]},
        "release_secrets": {} if v["release_secret_hex"] is None else {str(v["event_id"]): v["release_secret_hex"]},
    }


def c1_bundle_for(v):
    return dict(s1_bundle_for(v), credentials=[v["signed_credential_hex"]])


@pytest.mark.parametrize("v", T1 + S1 + C1, ids=ids(T1 + S1 + C1))
def test_positive_vectors_are_admitted_by_the_gate(v):
    bundle = {"T1:": t1_bundle_for, "S1:": s1_bundle_for, "C1:": c1_bundle_for}[v["payload"][:3]](v)
    gate = Gate(bundle)
    payload = v["payload"].encode("ascii")
    now_ms = v["unix_time"] * 1000
    assert gate.scan(payload, now_ms)[0] == "admit"
    assert gate.scan(payload, now_ms)[0] == "replay"
    # §10.1: the checklist takes the payload exactly; only the scanner layer drops one
    # trailing line terminator.
    assert Gate(bundle).scan(payload + b"\r\n", now_ms)[0] == "malformed"
    for end in (b"\r\n", b"\n", b"\r"):
        assert Gate(bundle).scan(scanner_layer(payload + end), now_ms)[0] == "admit"
    assert Gate(bundle).scan(scanner_layer(payload + b"\n\n"), now_ms)[0] == "malformed"


@pytest.mark.parametrize("v", C1, ids=ids(C1))
def test_c1_code_needs_its_credential_and_every_changed_digit_is_refused(v):
    now_ms = v["unix_time"] * 1000
    payload = v["payload"].encode("ascii")
    # C1.2: a gate without the credential does not know the ticket (§10.7).
    assert Gate(s1_bundle_for(v)).scan(payload, now_ms)[0] == "unknown_ticket"
    gate = Gate(c1_bundle_for(v))
    for i in range(3, len(payload)):
        for d in (b"0", b"5", b"9"):
            changed = payload[:i] + d + payload[i + 1 :]
            if changed != payload:
                assert gate.scan(changed, now_ms)[0] != "admit", f"digit {i - 3} set to {d}"
    assert gate.scan(payload, now_ms)[0] == "admit"


# --- The signed bundle document (§10.2.1) ------------------------------------------------
#
# Written from PROTOCOL.md §10.2.1 alone: the envelope, the signature (§7.6 rules through
# `gate_verifies`), pinning, and the update rules 1-5.

BUNDLE_DOMAIN = b"tessera/v2/bundle\x00"
ENVELOPE_MEMBERS = {"tessera_bundle", "key_id", "payload", "signature"}
DOCUMENT_ERRORS = {"unsigned", "bad_signature", "not_pinned", "invalid", "rolled_back"}
BUNDLES = json.loads((HERE / "bundle.json").read_text(encoding="utf-8"))

# Where this implementation of the PROTOCOL text and the reference gate (whose answers
# bundle.json records) disagree. Strict: once either side changes, the case passes and
# must leave this list.
# Cases where this gate and the reference gate answer differently (none: PROTOCOL §10.2.1
# was settled on each one the first version of these vectors found).
KNOWN_DISAGREEMENTS = {}


class DocumentRefused(Exception):
    def __init__(self, reason):
        assert reason in DOCUMENT_ERRORS, reason
        super().__init__(reason)
        self.reason = reason


def no_duplicates(pairs):
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("duplicate member")
    return dict(pairs)


def strict_json(text, **kw):
    """RFC 8259 JSON: no NaN or Infinity."""

    def constant(name):
        raise ValueError(name)

    return json.loads(text, parse_constant=constant, **kw)


def read_envelope(line):
    """Rule 1: a signed object with exactly the four members, else unsigned; of format 1,
    else invalid (a format this gate does not know)."""
    try:
        env = strict_json(line, object_pairs_hook=no_duplicates)
    except ValueError:
        raise DocumentRefused("unsigned") from None
    if not isinstance(env, dict) or set(env) != ENVELOPE_MEMBERS:
        raise DocumentRefused("unsigned")
    fmt, key_id, payload, signature = (env[k] for k in ("tessera_bundle", "key_id", "payload", "signature"))
    try:
        integer(fmt, 0, 2**32 - 1)
        integer(key_id, 0, 2**32 - 1)
        if not isinstance(payload, str) or not isinstance(signature, str):
            raise ValueError("not a string")
        message = BUNDLE_DOMAIN + payload.encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        raise DocumentRefused("unsigned") from None
    if fmt != 1:
        raise DocumentRefused("invalid")
    return key_id, payload, signature, message


def names_another_key(payload, key_id, pinned):
    """Rule 2: is the payload a valid bundle naming another key than the pinned one under
    `key_id` (another issuer's document)?"""
    try:
        other = Bundle(strict_json(payload)).issuer_keys.get(key_id)
    except ValueError:
        return False
    return other is not None and other != pinned


def open_line(line, pins):
    """Rules 1 and 2 for one line; answers the payload JSON text."""
    key_id, payload, signature, message = read_envelope(line)
    if key_id not in pins:
        raise DocumentRefused("not_pinned")
    try:
        sig = hex_bytes(signature, 64)
    except ValueError:
        sig = None
    if sig is None or not gate_verifies(pins[key_id], sig, message):
        raise DocumentRefused("not_pinned" if names_another_key(payload, key_id, pins[key_id]) else "bad_signature")
    return payload


def parse_bundle(payload):
    try:
        return Bundle(strict_json(payload))
    except ValueError:
        raise DocumentRefused("invalid") from None


def apply_update(bundle, update):
    """Rule 4: answers a new bundle; `bundle` is left as it was."""
    if update.since_seq is None or update.event != bundle.event or update.since_seq > bundle.seq:
        raise DocumentRefused("invalid")
    if update.seq < bundle.seq:
        raise DocumentRefused("rolled_back")
    if (bundle.t1 is None) != (update.t1 is None):
        # §10.2.1 replaces fields of `t1` only; it cannot add or remove `t1` itself.
        raise DocumentRefused("invalid")
    out = copy.deepcopy(bundle)
    for name in (
        "seq",
        "issued_at_ms",
        "strict_jit",
        "period",
        "valid_from",
        "valid_until",
        "issuer_keys",
        "reentry",
        "release_secrets",
    ):
        setattr(out, name, copy.deepcopy(getattr(update, name)))
    for t in update.changed:
        out.revoked.discard(t)
        out.holder_names.pop(t, None)
        out.seats.pop(t, None)
        if out.t1 is not None:
            out.t1["seeds"].pop(t, None)
    out.revoked |= update.revoked
    out.holder_names.update(update.holder_names)
    out.seats.update(update.seats)
    out.revoked_credentials |= update.revoked_credentials
    # A changed ticket's credentials are replaced by the update's (by the credential's ticket
    # id), kept in order of SHA-256(credential), without duplicates.
    kept = [c for c in out.credentials if c["ticket"] not in update.changed]
    merged = {}
    for c in kept + update.credentials:
        merged.setdefault(c["credential"] + c["issuer_sig"], c)
    out.credentials = sorted(merged.values(), key=lambda c: c["digest"])
    if out.t1 is not None:
        for k in ("algorithm", "digits", "event_seed"):
            out.t1[k] = update.t1[k]
        out.t1["seeds"].update(update.t1["seeds"])
    try:
        out.check()
    except ValueError:
        raise DocumentRefused("invalid") from None
    return out


def open_document(text, pins, highest_seq=None):
    """§10.2.1: a document (one signed line per bundle or update) with the gate's pinned
    keys (key id -> 32 bytes) and, for rule 5, the highest seq the gate used for the event.
    """
    lines = [line for line in text.split("\n") if line.strip()]  # blank lines are ignored
    if not lines:
        raise DocumentRefused("unsigned")
    payloads = [open_line(line, pins) for line in lines]  # rules 1 and 2, every line
    bundle = parse_bundle(payloads[0])
    if bundle.since_seq is not None:  # rule 3
        raise DocumentRefused("invalid")
    for payload in payloads[1:]:  # rule 4
        bundle = apply_update(bundle, parse_bundle(payload))
    if highest_seq is not None and bundle.seq < highest_seq:  # rule 5
        raise DocumentRefused("rolled_back")
    return bundle


def bundle_summary(b):
    """The fields bundle.json compares, in its form."""
    return {
        "ok": True,
        "event": b.event,
        "seq": b.seq,
        "issued_at_ms": b.issued_at_ms,
        "strict_jit": b.strict_jit,
        "revoked": sorted(t.hex() for t in b.revoked),
        "revoked_credentials": sorted(d.hex() for d in b.revoked_credentials),
        "holder_names": {t.hex(): n for t, n in b.holder_names.items()},
        "seats": {t.hex(): s for t, s in b.seats.items()},
        "t1_ticket_seeds": None if b.t1 is None else {t.hex(): s.hex() for t, s in b.t1["seeds"].items()},
        "release_secrets": {str(e): s.hex() for e, s in b.release_secrets.items()},
        "credentials": [(c["credential"] + c["issuer_sig"]).hex() for c in b.credentials],
    }


def document_case_params():
    out = []
    for case in BUNDLES["cases"]:
        reason = KNOWN_DISAGREEMENTS.get(case["name"])
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(case, id=case["name"], marks=marks))
    return out


def case_pins(case):
    return {decimal_key(k, 2**32 - 1): hex_bytes(v, 32) for k, v in case["pins"].items()}


@pytest.mark.parametrize("case", document_case_params())
def test_bundle_document(case):
    try:
        got = bundle_summary(open_document(case["document"], case_pins(case)))
    except DocumentRefused as r:
        got = {"ok": False, "error": r.reason}
    assert got == case["expect"]


def test_bundle_documents_cover_every_refusal():
    assert {c["expect"].get("error") for c in BUNDLES["cases"]} - {None} == DOCUMENT_ERRORS
    assert set(KNOWN_DISAGREEMENTS) <= {c["name"] for c in BUNDLES["cases"]}


def test_bundle_document_keys_and_signatures():
    """The listed keys come from their seeds, and the whole bundle's line is the Ed25519
    signature (deterministic) of the domain tag and the payload, as §10.2.1 says."""
    assert bytes.fromhex(BUNDLES["domain_hex"]) == BUNDLE_DOMAIN
    keys = {k["key_id"]: k for k in BUNDLES["issuer_keys"]}
    for k in BUNDLES["issuer_keys"] + [BUNDLES["other_issuer_key"]]:
        assert raw_public(private_key(k["seed_hex"])).hex() == k["public_key_hex"]
    case = next(c for c in BUNDLES["cases"] if c["name"] == "whole-bundle")
    env = json.loads(case["document"])
    payload = env["payload"].encode("utf-8")
    assert private_key(keys[env["key_id"]]["seed_hex"]).sign(BUNDLE_DOMAIN + payload).hex() == env["signature"]
    # Rule 5: the same document is refused by a gate that already used a newer bundle.
    pins = case_pins(case)
    seq = open_document(case["document"], pins).seq
    assert open_document(case["document"], pins, highest_seq=seq).seq == seq
    with pytest.raises(DocumentRefused) as r:
        open_document(case["document"], pins, highest_seq=seq + 1)
    assert r.value.reason == "rolled_back"


def test_strict_bundles_without_secret_in_reject_json():
    """§10.2 `strict_jit`: the reject vectors have strict bundles with no release secret."""
    strict = [n for n, j in GATE["bundles"].items() if j.get("strict_jit") and not j.get("release_secrets")]
    assert any(GATE["bundles"][n].get("t1") for n in strict) and any(not GATE["bundles"][n].get("t1") for n in strict)
    used = {v["bundle"] for v in GATE["vectors"] if v["reason"] == "not_released"}
    assert set(strict) <= used


# --- Release objects (§14) ----------------------------------------------------------------

RELEASES = json.loads((HERE / "release.json").read_text(encoding="utf-8"))
RELEASE_DOMAIN = b"tessera/v1/release-object\x00"
RELEASE_PREFIX = b"R1:"
RELEASE_VERSION = 1
RELEASE_MAX_SECRET = 128
# §14.1: version, event id, release version, opens_at, key id, secret length.
RELEASE_HEADER = 1 + 8 + 4 + 8 + 4 + 1


class ReleaseRefused(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def release_body(event_id, version, opens_at, key_id, secret, signature):
    """§14.1, from the fields."""
    return (
        struct.pack(">BQIqIB", RELEASE_VERSION, event_id, version, opens_at, key_id, len(secret))
        + secret
        + signature
    )


def release_digits_to_body(digits):
    """§14.2: the digit groups of §7.7.2 for a body of any length; canonical only."""
    if not re.fullmatch(rb"[0-9]*", digits):
        raise ReleaseRefused("malformed")
    whole, rest = divmod(len(digits), 17)
    last = [n for n in range(1, 7) if C1_GROUP_DIGITS[n] == rest]
    if rest and not last:
        raise ReleaseRefused("malformed")
    length = whole * 7 + (last[0] if rest else 0)
    body, at = b"", 0
    for n in c1_groups(length):
        width = C1_GROUP_DIGITS[n]
        value = int(digits[at : at + width].decode("ascii"))
        if value >= 256**n:
            raise ReleaseRefused("malformed")
        body += value.to_bytes(n, "big")
        at += width
    return body


def read_release(text, pins):
    """§14.3: the text's bytes and the pinned keys (key id -> 32 bytes) -> the fields;
    raises ReleaseRefused("malformed" | "unknown_key" | "bad_signature")."""
    if not text.startswith(RELEASE_PREFIX):
        raise ReleaseRefused("malformed")
    digits = text[len(RELEASE_PREFIX) :]
    # Bounded before decoding: the digits of the longest body.
    if len(digits) > c1_digit_count(RELEASE_HEADER + RELEASE_MAX_SECRET + 64):
        raise ReleaseRefused("malformed")
    body = release_digits_to_body(digits)
    if len(body) < RELEASE_HEADER:
        raise ReleaseRefused("malformed")
    version, event_id, release_version, opens_at, key_id, n = struct.unpack(">BQIqIB", body[:RELEASE_HEADER])
    if version != RELEASE_VERSION or not 1 <= n <= RELEASE_MAX_SECRET:
        raise ReleaseRefused("malformed")
    if len(body) != RELEASE_HEADER + n + 64:
        raise ReleaseRefused("malformed")
    secret, signature = body[RELEASE_HEADER : RELEASE_HEADER + n], body[RELEASE_HEADER + n :]
    if key_id not in pins:
        raise ReleaseRefused("unknown_key")
    if not gate_verifies(pins[key_id], signature, RELEASE_DOMAIN + body[:-64]):
        raise ReleaseRefused("bad_signature")
    return {
        "event_id": event_id,
        "version": release_version,
        "opens_at": opens_at,
        "key_id": key_id,
        "secret": secret,
        "signature": signature,
    }


def release_pins(j):
    return {int(k): bytes.fromhex(v) for k, v in j.items()}


@pytest.mark.parametrize("v", RELEASES["vectors"], ids=ids(RELEASES["vectors"]))
def test_release_vector(v):
    key = private_key(v["issuer_seed_hex"])
    assert raw_public(key).hex() == v["issuer_public_key_hex"]
    secret = bytes.fromhex(v["secret_hex"])
    unsigned = release_body(v["event_id"], v["version"], v["opens_at"], v["key_id"], secret, b"")
    message = RELEASE_DOMAIN + unsigned
    assert message.hex() == v["signed_message_hex"]
    # Ed25519 is deterministic: the seed signs exactly the recorded signature.
    signature = key.sign(message)
    assert signature.hex() == v["signature_hex"]
    body = unsigned + signature
    assert body.hex() == v["body_hex"] and len(body) == v["body_len"] == 90 + len(secret)
    text = "R1:" + c1_digits(body)
    assert text == v["text"]
    got = read_release(text.encode("utf-8"), {v["key_id"]: raw_public(key)})
    assert got == {
        "event_id": v["event_id"],
        "version": v["version"],
        "opens_at": v["opens_at"],
        "key_id": v["key_id"],
        "secret": secret,
        "signature": signature,
    }


@pytest.mark.parametrize("v", RELEASES["invalid"], ids=ids(RELEASES["invalid"]))
def test_release_refused(v):
    with pytest.raises(ReleaseRefused) as r:
        read_release(v["text"].encode("utf-8"), release_pins(v["pins"]))
    assert r.value.reason == v["expect"]


def test_release_objects_cover_every_refusal():
    assert {v["expect"] for v in RELEASES["invalid"]} == {"malformed", "unknown_key", "bad_signature"}
    assert bytes.fromhex(RELEASES["domain_hex"]) == RELEASE_DOMAIN
    other = RELEASES["other_issuer_key"]
    assert raw_public(private_key(other["seed_hex"])).hex() == other["public_key_hex"]
    # The worked example (§14.4): a 32-byte secret, a 122-byte body, 297 digits.
    worked = RELEASES["vectors"][0]
    assert (worked["body_len"], len(worked["text"])) == (122, 300)
    # Every size of last digit group (none, 1-6 bytes) is exercised.
    assert {v["body_len"] % 7 for v in RELEASES["vectors"]} == set(range(7))


def test_release_worked_example_in_the_protocol_is_the_vector():
    """PROTOCOL.md §14.4 quotes the vector's keys, fields, signature, digits and text, and
    §14.3's length bound is the longest body's digit count."""
    doc = (HERE.parent.parent / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    section = doc[doc.index("### 14.4 ") : doc.index("### 14.5 ")]
    v = next(x for x in RELEASES["vectors"] if x["name"] == "event-5001-version-1")
    body = bytes.fromhex(v["body_hex"])
    for part in (
        v["issuer_seed_hex"],
        v["issuer_public_key_hex"],
        v["secret_hex"],
        v["signature_hex"],
        RELEASES["domain_hex"],
        body[1:9].hex(),
        body[13:21].hex(),
        v["text"],
        v["text"][3:20],
        v["text"][-8:],
    ):
        assert part in section, part
    limit = c1_digit_count(RELEASE_HEADER + RELEASE_MAX_SECRET + 64)
    assert limit == 530 and f"longer than {limit} bytes" in doc[doc.index("### 14.3 ") :]
