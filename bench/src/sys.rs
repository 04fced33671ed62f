//! What the report says about the machine and what the scenarios read from
//! `/proc`: server memory and CPU, file-descriptor limits.

use serde::Serialize;
use serde_json::{json, Value};

pub fn machine() -> Value {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |text: &str, key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
    };
    json!({
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "mem_total": field(&meminfo, "MemTotal"),
        "cpu_model": field(&cpuinfo, "model name"),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()),
        "loadavg_at_start": std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_owned()),
        "fd_limit": fd_limit().map(|(soft, hard)| json!({"soft": soft, "hard": hard})),
    })
}

/// The commit of the working directory's git checkout, with `-dirty` when it has
/// uncommitted changes; None outside a checkout.
pub fn git_commit() -> Option<String> {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = run(&["rev-parse", "HEAD"]).filter(|h| !h.is_empty())?;
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

/// Resident memory of a process in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&status, "VmRSS:")
}

fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time (user + system) a process has used so far, in seconds.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = parse_stat_ticks(&stat)?;
    Some(ticks as f64 / clock_ticks_per_sec())
}

/// utime + stime from `/proc/<pid>/stat`. The command name (field 2) may contain
/// spaces and parentheses, so fields are counted after its last `)`.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) sit at 11 and 12.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Machine-wide CPU ticks from `/proc/stat`: (busy, iowait, total), summed
/// over all cores. Busy excludes idle and iowait.
pub fn machine_ticks() -> Option<(u64, u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_machine_ticks(stat.lines().next()?)
}

fn parse_machine_ticks(line: &str) -> Option<(u64, u64, u64)> {
    let mut it = line.split_whitespace();
    if it.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = it.filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = v.iter().take(8).sum();
    let idle = *v.get(3)?;
    let iowait = v.get(4).copied().unwrap_or(0);
    Some((total - idle - iowait, iowait, total))
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

// rlim_t is u64 on Linux but not on every platform.
#[allow(clippy::unnecessary_cast)]
pub fn fd_limit() -> Option<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) };
    (rc == 0).then_some((r.rlim_cur as u64, r.rlim_max as u64))
}

/// Makes sure this process (and the servers it spawns, which inherit the limit)
/// may open `needed` files, raising the soft limit up to the hard one if needed.
pub fn ensure_fd_limit(needed: u64) -> Result<FdLimit, String> {
    let (soft, hard) = fd_limit().ok_or("cannot read the open-file limit")?;
    if soft >= needed {
        return Ok(FdLimit {
            soft,
            hard,
            raised: false,
        });
    }
    if hard < needed {
        return Err(format!(
            "the open-file limit is too low: {needed} needed, hard limit {hard} (raise it with `ulimit -Hn`, or use fewer --sockets)"
        ));
    }
    let r = libc::rlimit {
        rlim_cur: needed as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct we pass.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) };
    if rc != 0 {
        return Err(format!(
            "cannot raise the open-file limit from {soft} to {needed}"
        ));
    }
    Ok(FdLimit {
        soft: needed,
        hard,
        raised: true,
    })
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct FdLimit {
    pub soft: u64,
    pub hard: u64,
    pub raised: bool,
}

/// Asks a child process to shut down gracefully.
pub fn sigterm(pid: u32) {
    if let Ok(p) = libc::pid_t::try_from(pid) {
        // SAFETY: kill only sends a signal to a process id we spawned.
        unsafe {
            libc::kill(p, libc::SIGTERM);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_skip_a_name_with_spaces_and_parens() {
        let stat = "1234 (radar (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        assert_eq!(parse_stat_ticks(stat), Some(300));
        assert_eq!(parse_stat_ticks("garbage"), None);
    }

    #[test]
    fn machine_ticks_split_busy_and_iowait() {
        let line = "cpu  100 0 50 800 40 5 5 0 0 0";
        assert_eq!(parse_machine_ticks(line), Some((160, 40, 1000)));
        assert_eq!(parse_machine_ticks("cpu0 1 2 3 4"), None);
        assert!(machine_ticks().is_some());
    }

    #[test]
    fn status_kib() {
        let s = "Name:\tradar\nVmRSS:\t   12345 kB\nThreads: 3\n";
        assert_eq!(parse_status_kib(s, "VmRSS:"), Some(12345));
        assert_eq!(parse_status_kib(s, "VmHWM:"), None);
    }

    #[test]
    fn own_process_is_readable() {
        let pid = std::process::id();
        assert!(rss_kib(pid).is_some_and(|k| k > 0));
        assert!(cpu_secs(pid).is_some());
        assert!(fd_limit().is_some());
    }
}
