//! A `synthmark::server` service on a loopback port inside the test process, stopped (and its
//! thread joined) when dropped: the one harness the service and hostile-input tests share.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use synthmark::server::Service;

pub struct InProcess {
    pub address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    /// Serves `service` with `synthmark::server::serve` on a free loopback port.
    pub fn start(service: Arc<Service>) -> InProcess {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, address) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready.send(listener.local_addr().unwrap()).unwrap();
                synthmark::server::serve(listener, service, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        });
        InProcess {
            address: address.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
