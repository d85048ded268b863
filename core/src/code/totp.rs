//! HOTP (RFC 4226) and TOTP (RFC 6238) on ring's HMAC.

use ring::hmac;

use crate::policy::TotpAlgorithm;

fn hmac_alg(a: TotpAlgorithm) -> hmac::Algorithm {
    match a {
        TotpAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        TotpAlgorithm::Sha256 => hmac::HMAC_SHA256,
        TotpAlgorithm::Sha512 => hmac::HMAC_SHA512,
    }
}

/// The HOTP value of `counter` under `key`, reduced to `digits` decimal digits (1–9).
pub fn hotp(algorithm: TotpAlgorithm, key: &[u8], counter: u64, digits: u8) -> u32 {
    let tag = hmac::sign(
        &hmac::Key::new(hmac_alg(algorithm), key),
        &counter.to_be_bytes(),
    );
    let mac = tag.as_ref();
    // Dynamic truncation (RFC 4226 §5.3). Every HMAC here is ≥ 20 bytes, so offset+3 < len.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    bin % 10u32.pow(u32::from(digits.clamp(1, 9)))
}

/// A HOTP/TOTP value written with its leading zeros, as RFC 6238 prints it.
pub fn format_code(value: u32, digits: u8) -> String {
    format!("{value:0width$}", width = usize::from(digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4226 Appendix D: the HOTP values for the ASCII key "12345678901234567890".
    #[test]
    fn rfc4226_appendix_d() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (c, want) in expected.iter().enumerate() {
            assert_eq!(
                hotp(TotpAlgorithm::Sha1, b"12345678901234567890", c as u64, 6),
                *want
            );
        }
    }

    #[test]
    fn leading_zeros_are_kept() {
        assert_eq!(format_code(81804, 8), "00081804");
    }
}
