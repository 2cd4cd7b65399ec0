//! How many upload bodies this process receives at once, in all and per user. Each body being
//! received holds a writer and a hashing thread from the shared blocking pool; without a bound,
//! one client opening many slow uploads could starve every other file operation of the server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::protocol::TusError;

/// Bodies received at once by this process.
const MAX_RECEIVING: usize = 64;
/// Bodies received at once for one user.
const MAX_RECEIVING_PER_USER: usize = 8;

pub struct Admission {
    all: Arc<Semaphore>,
    per_user: Arc<Mutex<HashMap<String, usize>>>,
}

impl Default for Admission {
    fn default() -> Self {
        Admission {
            all: Arc::new(Semaphore::new(MAX_RECEIVING)),
            per_user: Arc::default(),
        }
    }
}

/// A place to receive one body; given back when dropped.
pub struct Admitted {
    _all: OwnedSemaphorePermit,
    user: String,
    per_user: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut map = self.per_user.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.user);
            }
        }
    }
}

impl Admission {
    /// A place for `user`'s body, or 503 (retryable: tus clients try again) when full.
    pub fn enter(&self, user: &str) -> Result<Admitted, TusError> {
        let busy = || {
            TusError::new(
                503,
                "the server is receiving as many uploads as it can; try again in a moment",
            )
        };
        let all = self.all.clone().try_acquire_owned().map_err(|_| busy())?;
        let mut map = self.per_user.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(user.to_owned()).or_insert(0);
        if *n >= MAX_RECEIVING_PER_USER {
            return Err(TusError::new(
                503,
                format!(
                    "you are sending {MAX_RECEIVING_PER_USER} uploads at once already; \
                     try again when one has finished"
                ),
            ));
        }
        *n += 1;
        Ok(Admitted {
            _all: all,
            user: user.to_owned(),
            per_user: self.per_user.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_user_and_global_bounds() {
        let a = Admission::default();
        let mut held: Vec<Admitted> = (0..MAX_RECEIVING_PER_USER)
            .map(|_| a.enter("alice").unwrap())
            .collect();
        assert!(a.enter("alice").is_err());
        assert!(a.enter("bob").is_ok());
        held.pop();
        assert!(a.enter("alice").is_ok());
    }
}
