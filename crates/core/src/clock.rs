//! Time as a parameter.
//!
//! Decision code never reads the wall clock itself: pure functions take `now`, and the controllers
//! that call them ask a [`Clock`] for it. Production wiring passes a [`SystemClock`]; tests and the
//! simulator pass a [`ManualClock`] and move it forward explicitly, so no test ever sleeps.
//!
//! Controllers usually hold the clock as `Arc<dyn Clock>` so one manual clock can drive several
//! components in lockstep.

use std::sync::{Arc, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// The real wall clock of the machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to, for tests and the simulator.
///
/// It moves forward with [`ManualClock::advance`]; only [`ManualClock::set`] can move it backwards.
/// It is shared through `&` (interior mutability), so an `Arc<ManualClock>` handed to a controller
/// can still be advanced by the test that owns the other `Arc`.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A manual clock that reads `start` until it is moved.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock to `t`, forwards or backwards.
    pub fn set(&self, t: Timestamp) {
        *self.lock() = t;
    }

    /// Moves the clock forward by `d` and returns the new time.
    ///
    /// A negative `d` leaves the clock where it is (the clock never goes backwards by accident:
    /// use [`ManualClock::set`] for that), and a step past the largest representable instant
    /// stops there.
    pub fn advance(&self, d: SignedDuration) -> Timestamp {
        let mut now = self.lock();
        if d.is_positive() {
            *now = now.checked_add(d).unwrap_or(Timestamp::MAX);
        }
        *now
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        // A Timestamp is a plain value: a panic while the lock was held cannot leave it
        // half-written, so a poisoned lock is still safe to use.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    #[test]
    fn manual_clock_reads_its_start_until_moved() {
        let clock = ManualClock::new(ts("2026-01-01T00:00:00Z"));
        assert_eq!(clock.now(), ts("2026-01-01T00:00:00Z"));
        assert_eq!(clock.now(), ts("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn manual_clock_advances_by_the_given_duration() {
        let clock = ManualClock::new(ts("2026-01-01T00:00:00Z"));
        assert_eq!(
            clock.advance(SignedDuration::from_secs(90)),
            ts("2026-01-01T00:01:30Z")
        );
        clock.advance(SignedDuration::from_millis(500));
        assert_eq!(clock.now(), ts("2026-01-01T00:01:30.5Z"));
    }

    #[test]
    fn manual_clock_ignores_a_negative_advance() {
        let clock = ManualClock::new(ts("2026-01-01T00:00:00Z"));
        clock.advance(SignedDuration::from_secs(-30));
        assert_eq!(clock.now(), ts("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn manual_clock_saturates_at_the_largest_instant() {
        let clock = ManualClock::new(Timestamp::MAX);
        clock.advance(SignedDuration::from_secs(1));
        assert_eq!(clock.now(), Timestamp::MAX);
    }

    #[test]
    fn manual_clock_set_can_go_backwards() {
        let clock = ManualClock::new(ts("2026-01-01T00:00:00Z"));
        clock.set(ts("2025-06-01T12:00:00Z"));
        assert_eq!(clock.now(), ts("2025-06-01T12:00:00Z"));
    }

    #[test]
    fn shared_manual_clock_moves_every_holder_of_an_arc_dyn_clock() {
        let manual = Arc::new(ManualClock::new(ts("2026-01-01T00:00:00Z")));
        let as_dyn: Arc<dyn Clock> = manual.clone();
        manual.advance(SignedDuration::from_secs(60));
        assert_eq!(as_dyn.now(), ts("2026-01-01T00:01:00Z"));
        // An Arc is itself a Clock, so it can be passed where `impl Clock` is wanted.
        fn read(c: impl Clock) -> Timestamp {
            c.now()
        }
        assert_eq!(read(as_dyn.clone()), ts("2026-01-01T00:01:00Z"));
        assert_eq!(read(&*manual), ts("2026-01-01T00:01:00Z"));
    }

    #[test]
    fn system_clock_is_close_to_the_wall_clock() {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let before = Timestamp::now();
        let now = clock.now();
        let after = Timestamp::now();
        assert!(before <= now && now <= after);
    }

    #[test]
    fn manual_clock_can_be_moved_from_another_thread() {
        let manual = Arc::new(ManualClock::new(ts("2026-01-01T00:00:00Z")));
        let mover = Arc::clone(&manual);
        std::thread::spawn(move || {
            mover.advance(SignedDuration::from_secs(5));
        })
        .join()
        .expect("thread finished");
        assert_eq!(manual.now(), ts("2026-01-01T00:00:05Z"));
    }
}
