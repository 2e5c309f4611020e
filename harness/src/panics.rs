//! Where a test panicked. A panic inside a test body is reported as the test's failure, with the
//! panic's location (`suites/src/…:42:9`) that the default hook would otherwise print to stderr,
//! interleaved with other tests' progress.
//!
//! The hook recognises test bodies by their tokio task id: [`run_test`](crate::run_test) registers
//! each body's task before running it. Panics anywhere else go to the default hook, unchanged.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard, Once};

use tokio::task::Id;

/// Test-body tasks, and where each panicked (if it did).
static TEST_TASKS: LazyLock<Mutex<HashMap<Id, Option<String>>>> = LazyLock::new(Default::default);

fn tasks() -> MutexGuard<'static, HashMap<Id, Option<String>>> {
    // A panic while the lock is held leaves the map intact; poisoning carries no meaning here.
    TEST_TASKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Install the hook (once per process). Without it, panics are still failures, only without
/// their location, and the default hook prints them.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(id) = tokio::task::try_id()
                && let Some(slot) = tasks().get_mut(&id)
            {
                *slot = Some(
                    info.location()
                        .map_or_else(|| "an unknown location".to_owned(), |l| l.to_string()),
                );
                return;
            }
            default(info);
        }));
    });
}

/// Mark the current task as a test body (call first thing inside the task).
pub(crate) fn enter_test_task() {
    if let Some(id) = tokio::task::try_id() {
        tasks().insert(id, None);
    }
}

/// Forget the test task `id`, returning where it panicked, if it did and the hook is installed.
pub(crate) fn leave_test_task(id: Id) -> Option<String> {
    tasks().remove(&id).flatten()
}
