//! A bounded process-wide memo for pure functions of strings that traffic
//! repeats (user agents, Accept-Language headers, referrer hosts).

use std::sync::{LazyLock, Mutex};

/// A bounded process-wide memo from strings to what is computed from them.
/// It is simply emptied when full; a poisoned lock falls back to computing.
pub(crate) struct Memo<V>(LazyLock<Mutex<crate::FastMap<Box<str>, V>>>);

impl<V: Clone> Memo<V> {
    const MAX_ENTRIES: usize = 4_096;

    /// An empty memo, for a `static`.
    pub(crate) const fn new() -> Self {
        Self(LazyLock::new(Default::default))
    }

    /// The remembered value for `key`, else `compute(key)` (remembered).
    pub(crate) fn get_or(&self, key: &str, compute: impl FnOnce(&str) -> V) -> V {
        if let Ok(memo) = self.0.lock()
            && let Some(v) = memo.get(key)
        {
            return v.clone();
        }
        let v = compute(key);
        if let Ok(mut memo) = self.0.lock() {
            if memo.len() >= Self::MAX_ENTRIES {
                memo.clear();
            }
            memo.insert(key.into(), v.clone());
        }
        v
    }
}
