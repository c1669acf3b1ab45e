//! What another process has spent so far, read from `/proc` (Linux): CPU
//! time (nanoseconds on CPU from each thread's `schedstat`, and the user and
//! system split in clock ticks from `stat`), page faults and memory.

use std::path::PathBuf;

/// One reading of a process's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcStat {
    /// Time on CPU, all live threads, nanoseconds (`/proc/PID/task/*/schedstat`).
    pub cpu_ns: u64,
    /// User time, all threads dead or alive, clock ticks (`/proc/PID/stat`).
    pub user_ticks: u64,
    /// System time, the same way.
    pub system_ticks: u64,
    /// Minor page faults (a page mapped without I/O: fresh memory, mostly).
    pub minor_faults: u64,
    /// Major page faults (a page read from disk).
    pub major_faults: u64,
    /// Resident memory now, KiB (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident memory so far, KiB (`VmHWM`).
    pub peak_rss_kib: u64,
}

impl ProcStat {
    /// Read process `pid`'s counters; `None` when it is gone or `/proc` is not there.
    pub fn read(pid: u32) -> Option<ProcStat> {
        let dir = PathBuf::from(format!("/proc/{pid}"));
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        // The command name is in parentheses and may hold spaces: count from the last ')'.
        let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        let status = std::fs::read_to_string(dir.join("status")).ok()?;
        let kib = |name: &str| {
            status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()).unwrap_or(0)
        };
        let mut cpu_ns = 0;
        for task in std::fs::read_dir(dir.join("task")).ok()?.flatten() {
            let schedstat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            cpu_ns += schedstat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
        Some(ProcStat {
            cpu_ns,
            user_ticks: field(14)?,
            system_ticks: field(15)?,
            minor_faults: field(10)?,
            major_faults: field(12)?,
            rss_kib: kib("VmRSS:"),
            peak_rss_kib: kib("VmHWM:"),
        })
    }

    /// What happened between `self` (earlier) and `later`; memory is `later`'s.
    pub fn until(&self, later: &ProcStat) -> ProcStat {
        ProcStat {
            cpu_ns: later.cpu_ns.saturating_sub(self.cpu_ns),
            user_ticks: later.user_ticks.saturating_sub(self.user_ticks),
            system_ticks: later.system_ticks.saturating_sub(self.system_ticks),
            minor_faults: later.minor_faults.saturating_sub(self.minor_faults),
            major_faults: later.major_faults.saturating_sub(self.major_faults),
            rss_kib: later.rss_kib,
            peak_rss_kib: later.peak_rss_kib,
        }
    }
}

/// Milliseconds in one clock tick (`sysconf(_SC_CLK_TCK)`, 100 a second almost everywhere).
pub fn tick_ms() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        1000.0 / ticks as f64
    } else {
        10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_processs_counters_grow_with_work_and_memory() {
        let pid = std::process::id();
        let before = ProcStat::read(pid).expect("/proc/self");
        // Work until the counter shows 30 ms of CPU (or 20 s pass: the
        // counter does not grow). Not a wall-clock loop: on a busy machine 40 ms
        // of wall time can be well under 30 ms of CPU.
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(20) && ProcStat::read(pid).is_some_and(|now| before.until(&now).cpu_ns < 30_000_000) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
            }
        }
        // Touch 16 MiB of fresh pages.
        let mut fresh = vec![0u8; 16 << 20];
        for i in (0..fresh.len()).step_by(4096) {
            fresh[i] = 1;
        }
        let after = ProcStat::read(pid).expect("/proc/self");
        let spent = before.until(&after);
        assert!(spent.cpu_ns >= 30_000_000, "{spent:?} ({x})");
        assert!(spent.minor_faults >= 1_000, "16 MiB of fresh pages fault in: {spent:?}");
        assert!(after.rss_kib >= 16 * 1024 && after.peak_rss_kib >= after.rss_kib, "{after:?} {}", fresh[4096]);
        assert!(ProcStat::read(u32::MAX).is_none());
    }
}
