//! Single flight for the isolate cache: concurrent misses for one key wait
//! for the first miss's read instead of each reading. A burst of clicks on a
//! link a fresh isolate has not seen yet (a campaign e-mail going out) is one
//! D1 read of the link and one of the handle's rules, not one per request.
//!
//! The cache itself is the channel: the first miss (the flight's leader)
//! reads and fills the cache; the others wait for its flight to land and then
//! look again. A flight lands when its read ends, whether it filled the cache
//! or not, and when the leader's future is dropped mid-read: a waiter whose
//! second look still misses reads for itself. A leader can also just stop
//! (on Workers a cancelled request's pending continuations are never run, so
//! its future is neither polled nor dropped): a flight older than
//! [`MAX_FLIGHT_MS`] is therefore taken over by the next miss, and a waiter
//! waits at most that long (its `Park` has the deadline), so nobody waits on
//! a read that will not come.
//!
//! How a waiter waits is the caller's ([`Park`]): on Workers each waiter must
//! resume in its own request's context.
//!
//! Single-threaded (one isolate): `Rc`, `Cell`, `RefCell`, no locks.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

/// How long a flight may take before the next miss leads a new one (and how
/// long a waiter waits for it): D1 reads take milliseconds.
pub const MAX_FLIGHT_MS: i64 = 2_000;

/// How a waiter waits for a flight to land. On Workers a waiter must resume
/// in its own request's context: the edge parks on a JS promise it creates
/// (workerd delivers a promise's continuations to the request that awaited
/// it), never on a Rust waker woken from the leader's request, which would
/// run the waiter's continuation inside the leader's I/O context.
pub trait Park {
    /// What the leader's landing uses to wake the waiter.
    type Ticket;
    /// Ready once the ticket is used, or [`MAX_FLIGHT_MS`] after parking,
    /// whichever comes first.
    type Wait: Future<Output = ()>;
    fn park() -> (Self::Ticket, Self::Wait);
    fn unpark(ticket: Self::Ticket);
}

/// One read in flight: when it started, and who waits for it.
struct Flight<P: Park> {
    started_ms: i64,
    waiting: RefCell<Vec<P::Ticket>>,
}

/// The reads in flight of one cache, by key.
pub struct Flights<P: Park>(RefCell<HashMap<String, Rc<Flight<P>>>>);

impl<P: Park> Default for Flights<P> {
    fn default() -> Self {
        Flights(RefCell::default())
    }
}

/// What a cache miss does next (`Flights::turn`).
pub enum Turn<'a, P: Park> {
    /// Read, and fill the cache: the flight lands when this is dropped
    /// (after the read, or when the request goes away mid-read).
    Lead(Lands<'a, P>),
    /// Wait for the flight in the air to land, then look in the cache again
    /// (and, still missing, read alone: that read failed, was dropped, or
    /// took longer than [`MAX_FLIGHT_MS`]).
    Wait(P::Wait),
}

impl<P: Park> Flights<P> {
    /// A miss for `key`: lead a new flight, or wait for the one in the air.
    /// Not generic over what is read, so each cache's reader stays small:
    ///
    /// ```ignore
    /// let _lands = match flights.turn(key, now) {
    ///     Turn::Lead(lands) => Some(lands),
    ///     turn => {
    ///         turn.wait().await;
    ///         if let Some(hit) = look() { return Ok(hit); }
    ///         None
    ///     }
    /// };
    /// read().await
    /// ```
    /// A flight in the air for [`MAX_FLIGHT_MS`] or more is taken over: its
    /// leader may never come back.
    pub fn turn(&self, key: &str, now_ms: i64) -> Turn<'_, P> {
        let in_flight = self.0.borrow().get(key).cloned();
        match in_flight {
            Some(flight) if now_ms - flight.started_ms < MAX_FLIGHT_MS => {
                let (ticket, wait) = P::park();
                flight.waiting.borrow_mut().push(ticket);
                Turn::Wait(wait)
            }
            _ => {
                let flight = Rc::new(Flight {
                    started_ms: now_ms,
                    waiting: RefCell::default(),
                });
                self.0.borrow_mut().insert(key.to_string(), flight.clone());
                Turn::Lead(Lands {
                    flights: self,
                    key: key.to_string(),
                    flight,
                })
            }
        }
    }

    /// From now on, misses start reads of their own: the reads in flight
    /// still land for whoever waits on them, but nobody new joins them
    /// (their rows predate a write).
    pub fn forget_all(&self) {
        self.0.borrow_mut().clear();
    }

    /// Reads in flight now.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<P: Park> Turn<'_, P> {
    /// Until the flight waited for has landed, or its wait is over (at once
    /// for a leader).
    pub async fn wait(self) {
        if let Turn::Wait(w) = self {
            w.await;
        }
    }
}

/// Lands the leader's flight when dropped: its read ended, or its request
/// went away mid-read.
pub struct Lands<'a, P: Park> {
    flights: &'a Flights<P>,
    key: String,
    flight: Rc<Flight<P>>,
}

impl<P: Park> Drop for Lands<'_, P> {
    fn drop(&mut self) {
        {
            let mut m = self.flights.0.borrow_mut();
            if m.get(&self.key)
                .is_some_and(|f| Rc::ptr_eq(f, &self.flight))
            {
                m.remove(&self.key);
            }
        }
        for t in self.flight.waiting.take() {
            P::unpark(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::sync::Arc;
    use std::task::Wake;

    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    /// Parking for the tests: a shared flag the ticket sets.
    struct Flag;
    struct Raised(Rc<Cell<bool>>);
    impl Future for Raised {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if self.0.get() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }
    impl Park for Flag {
        type Ticket = Rc<Cell<bool>>;
        type Wait = Raised;
        fn park() -> (Self::Ticket, Self::Wait) {
            let f = Rc::new(Cell::new(false));
            (f.clone(), Raised(f))
        }
        fn unpark(t: Self::Ticket) {
            t.set(true);
        }
    }

    type Task<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

    /// Polls every task in turn until all are done (or `rounds` pass).
    fn run_all(mut tasks: Vec<Task<'_>>, rounds: usize) -> usize {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        for _ in 0..rounds {
            tasks.retain_mut(|t| t.as_mut().poll(&mut cx).is_pending());
            if tasks.is_empty() {
                return 0;
            }
        }
        tasks.len()
    }

    /// Pending `n` times, then ready: a read that takes a while.
    struct Slow(usize);
    impl Future for Slow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if self.0 == 0 {
                return Poll::Ready(());
            }
            self.0 -= 1;
            Poll::Pending
        }
    }

    struct Fixture {
        flights: Flights<Flag>,
        cache: RefCell<HashMap<String, u32>>,
        reads: Cell<u32>,
        got: RefCell<Vec<Result<u32, &'static str>>>,
        now: Cell<i64>,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture {
                flights: Flights::default(),
                cache: RefCell::default(),
                reads: Cell::new(0),
                got: RefCell::default(),
                now: Cell::new(0),
            }
        }

        /// A get for `key` whose read takes 3 polls and fills the cache with
        /// `value` (or fails, not filling it, when `fails`).
        fn get<'a>(&'a self, key: &'a str, value: u32, fails: bool) -> Task<'a> {
            Box::pin(async move {
                let r = self.lookup(key, value, fails).await;
                self.got.borrow_mut().push(r);
            })
        }

        /// A cache's reader, written as `Flights::turn` says.
        async fn lookup(&self, key: &str, value: u32, fails: bool) -> Result<u32, &'static str> {
            let look = || self.cache.borrow().get(key).copied();
            if let Some(hit) = look() {
                return Ok(hit);
            }
            let _lands = match self.flights.turn(key, self.now.get()) {
                Turn::Lead(lands) => Some(lands),
                turn => {
                    turn.wait().await;
                    if let Some(hit) = look() {
                        return Ok(hit);
                    }
                    None
                }
            };
            self.reads.set(self.reads.get() + 1);
            Slow(3).await;
            if fails {
                return Err("down");
            }
            self.cache.borrow_mut().insert(key.to_string(), value);
            Ok(value)
        }
    }

    #[test]
    fn concurrent_misses_share_one_read() {
        let f = Fixture::new();
        let tasks = (0..20).map(|_| f.get("demo/spring", 7, false)).collect();
        assert_eq!(run_all(tasks, 100), 0);
        assert_eq!(f.reads.get(), 1);
        assert_eq!(*f.got.borrow(), vec![Ok(7); 20]);
        assert!(f.flights.is_empty());
        // Later misses of another key read again; hits read nothing.
        assert_eq!(run_all(vec![f.get("demo/other", 8, false)], 100), 0);
        assert_eq!(run_all(vec![f.get("demo/spring", 9, false)], 100), 0);
        assert_eq!(f.reads.get(), 2);
        assert_eq!(f.got.borrow()[21], Ok(7));
    }

    #[test]
    fn different_keys_do_not_wait_for_each_other() {
        let f = Fixture::new();
        let tasks = vec![
            f.get("a", 1, false),
            f.get("b", 2, false),
            f.get("a", 1, false),
        ];
        assert_eq!(run_all(tasks, 100), 0);
        assert_eq!(f.reads.get(), 2);
        let mut got = f.got.borrow().clone();
        got.sort();
        assert_eq!(got, vec![Ok(1), Ok(1), Ok(2)]);
    }

    #[test]
    fn a_failed_read_lets_each_waiter_read_for_itself() {
        let f = Fixture::new();
        // The leader's read fails; the 3 waiters find nothing and read alone
        // (their reads succeed).
        let mut tasks = vec![f.get("k", 5, true)];
        tasks.extend((0..3).map(|_| f.get("k", 5, false)));
        assert_eq!(run_all(tasks, 100), 0);
        let got = f.got.borrow().clone();
        assert_eq!(got.iter().filter(|r| r.is_err()).count(), 1);
        assert_eq!(got.iter().filter(|r| **r == Ok(5)).count(), 3);
        // The failed read, then one each: the waiters resume together, all
        // find the cache empty (no new leader: a second failing read would
        // otherwise keep the rest waiting again).
        assert_eq!(f.reads.get(), 4);
        assert!(f.flights.is_empty());
    }

    #[test]
    fn after_forget_all_a_miss_reads_anew_and_the_old_flight_still_lands() {
        let f = Fixture::new();
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut old = f.get("k", 1, false);
        assert!(old.as_mut().poll(&mut cx).is_pending());
        let mut old_waiter = f.get("k", 1, false);
        assert!(old_waiter.as_mut().poll(&mut cx).is_pending());
        f.flights.forget_all();
        // A miss after the write: its own read, its own flight.
        let mut fresh = f.get("k", 2, false);
        assert!(fresh.as_mut().poll(&mut cx).is_pending());
        assert_eq!(f.reads.get(), 2);
        assert_eq!(f.flights.len(), 1);
        // The old leader lands without removing the new flight.
        assert_eq!(run_all(vec![old], 100), 0);
        assert_eq!(f.flights.len(), 1);
        assert_eq!(run_all(vec![old_waiter, fresh], 100), 0);
        assert!(f.flights.is_empty());
        assert_eq!(f.got.borrow().len(), 3);
    }

    #[test]
    fn a_leader_that_never_comes_back_is_taken_over_after_the_bound() {
        let f = Fixture::new();
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut stuck = f.get("k", 1, false);
        assert!(stuck.as_mut().poll(&mut cx).is_pending());
        // Its request was cancelled: never polled again, never dropped.
        std::mem::forget(stuck);
        f.now.set(MAX_FLIGHT_MS - 1);
        let mut waiter = f.get("k", 1, false);
        for _ in 0..10 {
            assert!(
                waiter.as_mut().poll(&mut cx).is_pending(),
                "waits for the flight"
            );
        }
        f.now.set(MAX_FLIGHT_MS);
        assert_eq!(run_all(vec![f.get("k", 2, false)], 100), 0);
        assert_eq!((f.reads.get(), f.got.borrow().clone()), (2, vec![Ok(2)]));
        assert!(f.flights.is_empty());
        // A miss after that finds the new flight's rows.
        assert_eq!(run_all(vec![f.get("k", 3, false)], 100), 0);
        assert_eq!(f.got.borrow().last(), Some(&Ok(2)));
    }

    #[test]
    fn a_dropped_leader_does_not_strand_its_waiters() {
        let f = Fixture::new();
        let mut leader = f.get("k", 5, false);
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        assert!(leader.as_mut().poll(&mut cx).is_pending());
        assert_eq!(f.flights.len(), 1);
        let mut waiter = f.get("k", 5, false);
        assert!(waiter.as_mut().poll(&mut cx).is_pending());
        // The leader's request goes away mid-read.
        drop(leader);
        assert!(f.flights.is_empty());
        assert_eq!(run_all(vec![waiter], 100), 0);
        assert_eq!(*f.got.borrow(), vec![Ok(5)]);
        assert_eq!(f.reads.get(), 2);
    }
}
