//! The cap on connections, fitted to the process's open-file limit: a server that accepts
//! until `accept` fails with EMFILE has no descriptor left for its database, its webhook
//! deliveries or the answer to `/healthz`.

use super::SPARE;

/// Descriptors left for everything else: the database pool, push clients, logs, DNS.
const OTHER_FILES: usize = 64;

/// The cap that fits the open-file limit: what the webhook dispatcher, the spare sockets and
/// everything else may hold comes first. A limit too low for that gets half for connections.
pub(super) fn cap_for(
    configured: usize,
    open_files: Option<u64>,
    webhook_concurrency: usize,
) -> usize {
    let Some(limit) = open_files.and_then(|l| usize::try_from(l).ok()) else {
        return configured;
    };
    let others = OTHER_FILES + SPARE + webhook_concurrency;
    let fits = match limit.checked_sub(others) {
        Some(left) if left >= 16 => left,
        _ => (limit / 2).max(1),
    };
    if fits < configured {
        tracing::warn!(
            open_file_limit = limit,
            max_connections = fits,
            configured,
            "max_connections lowered to fit the open-file limit (`ulimit -n`)"
        );
    }
    configured.min(fits)
}

/// The soft limit on open files, from `/proc/self/limits` (Linux; elsewhere unknown, and
/// the configured cap is used as it is). `unlimited` is unknown too.
pub(super) fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_other_files() {
        assert_eq!(cap_for(10_000, None, 256), 10_000);
        assert_eq!(cap_for(10_000, Some(1_048_576), 256), 10_000);
        assert_eq!(cap_for(10_000, Some(1024), 256), 1024 - 64 - 32 - 256);
        assert_eq!(cap_for(100, Some(1024), 256), 100);
        assert_eq!(cap_for(10_000, Some(256), 256), 128);
        assert_eq!(cap_for(10_000, Some(1), 4), 1);
    }

    #[test]
    fn the_open_file_limit_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(open_files_limit().is_some_and(|l| l > 0));
        }
    }
}
