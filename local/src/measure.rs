//! Process figures for the benchmark: CPU time and peak resident memory.

/// CPU time (user + system) this process has used so far, all threads.
pub fn cpu_time() -> std::time::Duration {
    usage().map_or(std::time::Duration::ZERO, |u| {
        let micros = |t: libc::timeval| u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec).unwrap_or(0);
        std::time::Duration::from_micros(micros(u.ru_utime) + micros(u.ru_stime))
    })
}

/// The peak resident set size of this process so far, in MiB (`ru_maxrss`).
pub fn peak_rss_mb() -> f64 {
    // Linux reports ru_maxrss in KiB.
    usage().map_or(0.0, |u| u.ru_maxrss as f64 / 1024.0)
}

fn usage() -> Option<libc::rusage> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given,
    // which points at properly sized, writable memory; we read it only on success.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    // SAFETY: status 0 means the struct was filled in.
    (status == 0).then(|| unsafe { usage.assume_init() })
}

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn cpu_time_grows_with_work_and_rss_is_reported() {
        let before = cpu_time();
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
        assert!(cpu_time() > before, "{x}");
        assert!(peak_rss_mb() > 1.0);
    }
}
