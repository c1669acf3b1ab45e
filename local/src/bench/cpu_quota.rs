//! A CPU quota like Lambda's for a process under test: Lambda gives a
//! function CPU in proportion to its memory, one vCPU at 1,769 MB, so a
//! 128 MB function gets 128/1,769 of one CPU. Imitated with a cgroup's
//! `cpu.max` (cgroup v2) or `cpu.cfs_quota_us` (v1), where this machine lets
//! us create one (root, a writable cgroup file system); otherwise `None`.

use std::path::{Path, PathBuf};

/// The scheduler period the quota is a share of, microseconds.
const PERIOD_US: u64 = 100_000;
/// Memory that buys one full vCPU at Lambda, MB.
pub const FULL_VCPU_MB: u64 = 1_769;

/// A cgroup holding one process under a CPU quota; removed on drop (the
/// process moves back to the root group).
#[derive(Debug)]
pub struct CpuQuota {
    dir: PathBuf,
    root_procs: PathBuf,
}

impl CpuQuota {
    /// Put process `pid` under the CPU share of a `memory_mb` Lambda function.
    pub fn lambda_share(pid: u32, memory_mb: u64) -> Option<CpuQuota> {
        let quota_us = (PERIOD_US * memory_mb / FULL_VCPU_MB).clamp(1_000, PERIOD_US);
        let name = format!("fanout-bench-{}-{memory_mb}", std::process::id());
        let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
        let (root, limit): (PathBuf, Vec<(&str, String)>) = if v2 {
            (PathBuf::from("/sys/fs/cgroup"), vec![("cpu.max", format!("{quota_us} {PERIOD_US}"))])
        } else {
            (PathBuf::from("/sys/fs/cgroup/cpu"), vec![("cpu.cfs_period_us", PERIOD_US.to_string()), ("cpu.cfs_quota_us", quota_us.to_string())])
        };
        let dir = root.join(name);
        std::fs::create_dir(&dir).ok()?;
        let quota = CpuQuota { dir, root_procs: root.join("cgroup.procs") };
        for (file, value) in limit {
            std::fs::write(quota.dir.join(file), value).ok()?;
        }
        std::fs::write(quota.dir.join("cgroup.procs"), pid.to_string()).ok()?;
        Some(quota)
    }
}

impl Drop for CpuQuota {
    fn drop(&mut self) {
        if let Ok(procs) = std::fs::read_to_string(self.dir.join("cgroup.procs")) {
            for pid in procs.lines() {
                let _ = std::fs::write(&self.root_procs, pid);
            }
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}
