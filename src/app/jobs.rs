//! Heavy work off the UI thread: one background job per kind (sweeps, full solve, planner,
//! timeline), always on the latest document. Starting a job cancels the one it replaces, a
//! result that arrives for an older request is dropped, and progress is shown while it runs.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a running job shares with the UI: how far it is, and whether it should give up.
#[derive(Default)]
pub struct Progress {
    done: AtomicU32,
    total: AtomicU32,
    cancelled: AtomicBool,
}

impl Progress {
    /// Sets how many steps the job has.
    pub fn set_total(&self, total: u32) {
        self.total.store(total, Ordering::Relaxed);
    }

    /// One more step done.
    pub fn step(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a newer request replaced this job (it should stop early).
    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// The share done, 0 to 1 (0 while the total is unknown).
    pub fn fraction(&self) -> f32 {
        let total = self.total.load(Ordering::Relaxed);
        if total == 0 {
            return 0.0;
        }
        (self.done.load(Ordering::Relaxed) as f32 / total as f32).min(1.0)
    }
}

/// Lowers the calling thread's scheduling priority (nice 10 on Linux), so that background
/// work leaves the UI thread its core on a small machine. Elsewhere it does nothing.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its arguments; on Linux PRIO_PROCESS with id 0 applies
    // to the calling thread. A failure leaves the priority as it was, which is harmless.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// A job that produces `T` in the background.
pub struct Job<T> {
    running: Option<(Receiver<T>, Arc<Progress>, Instant)>,
    /// Whether jobs run on a thread; off in a few tests that step frames by hand.
    threaded: bool,
}

impl<T> Default for Job<T> {
    fn default() -> Self {
        Job {
            running: None,
            threaded: true,
        }
    }
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work`, cancelling the job it replaces; `ctx` is asked to repaint when done.
    pub fn start(
        &mut self,
        ctx: &egui::Context,
        work: impl FnOnce(&Progress) -> T + Send + 'static,
    ) {
        self.cancel();
        let (sender, receiver) = channel();
        let progress = Arc::new(Progress::default());
        let shared = progress.clone();
        let ctx = ctx.clone();
        let run = move || {
            lower_priority();
            let result = work(&shared);
            if !shared.cancelled() {
                // The receiver may be gone (replaced); then the result is simply dropped.
                let _ = sender.send(result);
                ctx.request_repaint();
            }
        };
        if self.threaded {
            std::thread::spawn(run);
        } else {
            run();
        }
        self.running = Some((receiver, progress, Instant::now()));
    }

    /// Asks the running job to stop, and forgets it.
    pub fn cancel(&mut self) {
        if let Some((_, progress, _)) = self.running.take() {
            progress.cancelled.store(true, Ordering::Relaxed);
        }
    }

    /// The result, once the job has finished.
    pub fn poll(&mut self) -> Option<T> {
        let (receiver, _, _) = self.running.as_ref()?;
        match receiver.try_recv() {
            Ok(result) => {
                self.running = None;
                Some(result)
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                self.running = None;
                None
            }
        }
    }

    /// Waits up to `limit` for the result (tests and benchmarks).
    pub fn wait(&mut self, limit: Duration) -> Option<T> {
        let (receiver, _, _) = self.running.as_ref()?;
        match receiver.recv_timeout(limit) {
            Ok(result) => {
                self.running = None;
                Some(result)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                self.running = None;
                None
            }
        }
    }

    /// The share done and the time spent, while the job runs.
    pub fn status(&self) -> Option<(f32, Duration)> {
        self.running
            .as_ref()
            .map(|(_, progress, started)| (progress.fraction(), started.elapsed()))
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_job_is_cancelled_and_only_the_latest_result_arrives() {
        let ctx = egui::Context::default();
        let mut job: Job<u32> = Job::default();
        let (release, gate) = channel::<()>();
        job.start(&ctx, move |progress| {
            let _ = gate.recv();
            assert!(progress.cancelled());
            1
        });
        job.start(&ctx, |progress| {
            progress.set_total(2);
            progress.step();
            progress.step();
            2
        });
        release.send(()).unwrap();
        assert_eq!(job.wait(Duration::from_secs(10)), Some(2));
        assert!(!job.is_running());
        assert_eq!(job.poll(), None);
    }

    #[test]
    fn progress_is_a_share_of_the_total() {
        let progress = Progress::default();
        assert_eq!(progress.fraction(), 0.0);
        progress.set_total(4);
        progress.step();
        assert_eq!(progress.fraction(), 0.25);
    }
}
