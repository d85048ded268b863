//! What the wallet knows of the time: trusted time from the anchor and the high-water
//! mark, the nonces of time requests, request timestamps and a manipulated clock.
//! Anchors are written only by sync (`for_sync`).

use super::{META_HIGH_WATER, Wallet};
use crate::clock::{TimeStatus, TrustedTime, trusted_time};
use crate::error::WalletError;

/// The high-water mark is persisted at most this often from the frame path.
const HIGH_WATER_SAVE_MS: i64 = 60_000;
/// Time nonces handed out and not yet answered; older ones are forgotten.
const MAX_PENDING_TIME_NONCES: usize = 8;

impl Wallet {
    /// A fresh nonce for a time request (`GET /v1/time?nonce=…`, or a sync's
    /// `time_nonce`): the issuer signs its clock together with it, and the wallet accepts
    /// that signed time only for a nonce it handed out and that was not answered yet.
    pub fn new_time_nonce(&self) -> Result<[u8; 32], WalletError> {
        let mut n = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut n)
            .map_err(|_| WalletError::storage("system random generator failed"))?;
        let mut s = self.session();
        if s.pending_time_nonces.len() >= MAX_PENDING_TIME_NONCES {
            s.pending_time_nonces.pop_front();
        }
        s.pending_time_nonces.push_back(n);
        Ok(n)
    }

    /// What the wallet knows of the time now, for an app's status screen.
    pub fn time_status(&self) -> TimeStatus {
        let t = self.trusted_time();
        TimeStatus {
            now_ms: t.now_ms,
            proven_ms: t.proven_ms,
            anchored: t.anchored,
            clock_manipulated: self.clock_manipulated(),
        }
    }

    /// The time to stamp a device-signed request with: trusted time when anchored, else
    /// the wall clock corrected by the issuer's last unsigned answer. Never used to reveal.
    pub fn request_timestamp_ms(&self) -> i64 {
        let t = self.trusted_time();
        if t.anchored {
            return t.now_ms;
        }
        let offset = self.session().request_clock_offset_ms;
        match offset {
            Some(o) => self.wall.now_unix_ms().saturating_add(o),
            None => t.now_ms,
        }
    }

    /// What the wallet knows of the time now.
    pub fn trusted_time(&self) -> TrustedTime {
        let mut s = self.session();
        let t = trusted_time(
            s.anchor.as_ref(),
            s.high_water_ms,
            self.wall.as_ref(),
            self.mono.as_ref(),
        );
        if t.proven_ms > s.high_water_ms {
            s.high_water_ms = t.proven_ms;
            if t.proven_ms - s.high_water_saved_ms >= HIGH_WATER_SAVE_MS
                && self
                    .store
                    .set_meta(&[(META_HIGH_WATER, &t.proven_ms.to_be_bytes())])
                    .is_ok()
            {
                // A failed save only means the mark is re-proven later; nothing is lost.
                s.high_water_saved_ms = t.proven_ms;
            }
        }
        t
    }

    /// Whether the device clock disagrees with the issuer's beyond the tolerance.
    pub fn clock_manipulated(&self) -> bool {
        self.trusted_time()
            .wall_clock_manipulated(self.skew_tolerance_ms)
    }
}
