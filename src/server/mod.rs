//! The HTTP service (axum on hyper and tokio): a thin shell over [`Checker`] and [`Stamper`],
//! stateless apart from the registry, so any number of instances behind a load balancer share
//! one PostgreSQL registry.
//!
//! ```text
//! connection ─► [connections] cap on open connections, header-read and keep-alive timeout,
//!                             bounded graceful shutdown, hyper's own rejections counted
//!   request ─► [routes] JSON errors, token check (before the body is read)
//!           ─► [intake]  body read at a minimum rate into memory reserved from the budget,
//!                        format and header checked, decoding memory reserved
//!           ─► [admission] a worker within the queue wait (503 + Retry-After otherwise)
//!           ─► Checker / Stamper on a blocking thread, within the request timeout
//! ```
//!
//! Anonymous checks and authorised stamping have separate [`admission::Admission`]s (workers
//! and memory), so no number of anonymous uploads can keep a provider from stamping.
//!
//! Worst-case memory: every byte a request holds (its body as it arrives, then the decoding
//! estimate of [`crate::ImageInfo`]) is reserved from a budget before it is allocated, so the
//! service's resident memory stays below `base + check_memory + stamp_memory +
//! max_connections × 64 KiB` (base ≈ 40 MB: code, the C2PA context, the runtime; 64 KiB: a
//! connection's read and write buffers). With the defaults on a machine of 8 GB or more:
//! 40 MB + 1 GiB + 768 MiB + 32 MiB ≈ 1.9 GB.

mod admission;
mod connections;
mod intake;
mod metrics;
mod routes;
mod service;

pub use connections::{raise_descriptor_limit, serve};
pub use routes::app;
pub use service::{default_workers, Service, Settings};
