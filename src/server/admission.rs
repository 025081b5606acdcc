//! Admission: how many requests work at once, and how much memory they hold.
//!
//! An [`Admission`] is a pool of workers and a memory budget. A request reserves memory before
//! it allocates it (its body as it arrives, then the decoding estimate), and takes a worker
//! before it computes; what cannot be had within the queue wait is refused with 503 and
//! `Retry-After`, and what could never fit the budget with 413. Reservations are released when
//! the request's work is done, even when its client has gone away.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// A pool of workers and a memory budget (counted in KiB).
pub struct Admission {
    workers: Arc<Semaphore>,
    memory: Arc<Semaphore>,
    memory_kib: u64,
    queue_wait: Duration,
}

/// Why a request was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Nothing came free within the queue wait (or before the request's deadline).
    Busy,
    /// The request needs more memory than the whole budget.
    TooLarge { needed: u64, budget: u64 },
}

/// Memory held by one request; released when dropped.
#[derive(Default)]
pub struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
    bytes: u64,
}

impl Admission {
    pub fn new(workers: usize, memory_bytes: u64, queue_wait: Duration) -> Self {
        let memory_kib = (memory_bytes / 1024).clamp(1, Semaphore::MAX_PERMITS as u64);
        Admission {
            workers: Arc::new(Semaphore::new(workers.max(1))),
            memory: Arc::new(Semaphore::new(memory_kib as usize)),
            memory_kib,
            queue_wait,
        }
    }

    /// Adds `bytes` to `reservation`, waiting at most the queue wait (and never past
    /// `deadline`).
    pub async fn reserve(
        &self,
        reservation: &mut Reservation,
        bytes: u64,
        deadline: Instant,
    ) -> Result<(), Refusal> {
        if bytes == 0 {
            return Ok(());
        }
        let held_kib = reservation.bytes.div_ceil(1024);
        let total_kib = (reservation.bytes + bytes).div_ceil(1024);
        if total_kib > self.memory_kib {
            return Err(Refusal::TooLarge {
                needed: reservation.bytes + bytes,
                budget: self.memory_kib * 1024,
            });
        }
        let more = u32::try_from(total_kib - held_kib).map_err(|_| Refusal::Busy)?;
        if more > 0 {
            let permit = self.wait(self.memory.clone().acquire_many_owned(more), deadline);
            let permit = permit.await?;
            match &mut reservation.permit {
                Some(held) => held.merge(permit),
                None => reservation.permit = Some(permit),
            }
        }
        reservation.bytes += bytes;
        Ok(())
    }

    /// A worker, within the queue wait (and never past `deadline`).
    pub async fn worker(&self, deadline: Instant) -> Result<OwnedSemaphorePermit, Refusal> {
        self.wait(self.workers.clone().acquire_owned(), deadline)
            .await
    }

    async fn wait<F>(&self, acquire: F, deadline: Instant) -> Result<OwnedSemaphorePermit, Refusal>
    where
        F: std::future::Future<Output = Result<OwnedSemaphorePermit, tokio::sync::AcquireError>>,
    {
        let until = deadline.min(Instant::now() + self.queue_wait);
        match tokio::time::timeout_at(until, acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Refusal::Busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn memory_is_reserved_as_it_grows_and_released_on_drop() {
        let admission = Admission::new(1, 1 << 20, Duration::from_millis(50));
        let mut a = Reservation::default();
        admission.reserve(&mut a, 300 << 10, soon()).await.unwrap();
        admission.reserve(&mut a, 300 << 10, soon()).await.unwrap();
        assert_eq!(a.bytes, 600 << 10);
        // 600 KiB of 1 MiB are held: another 600 KiB must wait, then give up.
        let mut b = Reservation::default();
        let refused = admission.reserve(&mut b, 600 << 10, soon()).await;
        assert_eq!(refused, Err(Refusal::Busy));
        drop(a);
        admission.reserve(&mut b, 600 << 10, soon()).await.unwrap();
    }

    #[tokio::test]
    async fn a_request_larger_than_the_budget_is_refused_at_once() {
        let admission = Admission::new(1, 1 << 20, Duration::from_secs(60));
        let mut r = Reservation::default();
        let refused = admission.reserve(&mut r, 2 << 20, soon()).await;
        assert!(matches!(refused, Err(Refusal::TooLarge { .. })));
    }

    #[tokio::test]
    async fn workers_are_bounded() {
        let admission = Admission::new(1, 1 << 20, Duration::from_millis(50));
        let first = admission.worker(soon()).await.unwrap();
        assert_eq!(admission.worker(soon()).await.unwrap_err(), Refusal::Busy);
        drop(first);
        assert!(admission.worker(soon()).await.is_ok());
    }
}
