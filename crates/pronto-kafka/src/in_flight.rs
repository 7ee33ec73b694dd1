//! A bounded window of work whose outputs the broker has not yet acknowledged.
//!
//! A consuming service processes records as they arrive and hands their outputs to the
//! producer without waiting; each record enters the window with the deliveries of its outputs.
//! The window gives records back in the order they entered, each once all of its deliveries
//! (and those of every record before it) are acknowledged: that is when its offset may be
//! stored, so nothing is committed before its outputs are durable. A full window stops the
//! service taking more records, so a slow broker slows the service instead of growing its
//! memory.

use crate::{Delivery, Result};
use futures::stream::{FuturesOrdered, StreamExt};
use std::future::Future;
use std::pin::Pin;

/// An entry's outcome: how many deliveries it had, and what to hand back.
type Acknowledged<T> = Pin<Box<dyn Future<Output = (usize, Result<T>)> + Send + Sync>>;

/// Work in flight, each entry carrying `T` (where its input came from, say) to hand back
/// once acknowledged.
pub struct InFlight<T> {
    entries: FuturesOrdered<Acknowledged<T>>,
    deliveries: usize,
    limit: usize,
}

impl<T: Send + Sync + 'static> InFlight<T> {
    /// A window that is full at `limit` unacknowledged deliveries (or entries, for entries
    /// with none).
    pub fn new(limit: usize) -> Self {
        Self {
            entries: FuturesOrdered::new(),
            deliveries: 0,
            limit: limit.max(1),
        }
    }

    /// Adds an entry that is done once every one of `deliveries` is acknowledged.
    pub fn push(&mut self, deliveries: Vec<Delivery>, then: T) {
        let n = deliveries.len();
        self.deliveries += n;
        self.entries.push_back(Box::pin(async move {
            for d in deliveries {
                if let Err(e) = d.await {
                    return (n, Err(e));
                }
            }
            (n, Ok(then))
        }));
    }

    /// Entries not yet handed back.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the window holds as much as it may: take no more input until an entry is done.
    pub fn is_full(&self) -> bool {
        self.deliveries.max(self.entries.len()) >= self.limit
    }

    /// The oldest entry, once it and every entry before it is acknowledged; `None` when the
    /// window is empty. A delivery that failed fails here, and the entries after it are never
    /// handed back: their input must be processed again.
    ///
    /// Cancellation-safe: an entry is handed back only by the call that completes.
    pub async fn next(&mut self) -> Option<Result<T>> {
        let (n, done) = self.entries.next().await?;
        self.deliveries -= n;
        Some(done)
    }

    /// Waits for every entry, handing each back to `done` in order.
    pub async fn drain(&mut self, mut done: impl FnMut(T) -> Result<()>) -> Result<()> {
        while let Some(t) = self.next().await {
            done(t?)?;
        }
        Ok(())
    }
}
