//! xapi's session limits: `Db_gc_util.timeout_sessions`
//! (ocaml/xapi/db_gc_util.ml), which the GC thread runs every
//! `db_GC_TIMER` = 30 s (ocaml/xapi/db_gc.ml). Sessions of `root` (or of no
//! user) are grouped by originator, others by user name; sessions of root
//! without an originator share the "external" group. In each group, sessions
//! idle for more than `inactive_session_timeout` (24 h) are destroyed, and of
//! the rest only the most recently active `limit` survive
//! (`timeout_sessions_common`). Not modelled: sessions with unfinished tasks
//! are never destroyed in xapi (the simulator's tasks name no session).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// db_gc.ml `db_GC_TIMER`.
pub const GC_INTERVAL: Duration = Duration::from_secs(30);
/// xapi_globs.ml `max_sessions_per_originator`.
pub const MAX_SESSIONS_PER_ORIGINATOR: usize = 500;
/// xapi_globs.ml `max_sessions_per_user_name`.
pub const MAX_SESSIONS_PER_USER_NAME: usize = 500;
/// xapi_globs.ml `max_sessions` (`max_tasks * 2`): root's sessions without
/// an originator, all together.
pub const MAX_SESSIONS: usize = 400;
/// xapi_globs.ml `inactive_session_timeout`.
pub const INACTIVE_SESSION_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// What the GC reads of one session.
#[derive(Debug, Clone)]
pub(crate) struct Seen<'a> {
    pub reference: &'a str,
    pub originator: &'a str,
    pub user: &'a str,
    pub last_active: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Group<'a> {
    /// Root's sessions without an originator ("external").
    Anonymous,
    Originator(&'a str),
    UserName(&'a str),
}

/// The sessions one GC pass at `now` destroys.
pub(crate) fn doomed<'a>(sessions: &[Seen<'a>], now: Instant) -> Vec<&'a str> {
    let mut groups: HashMap<Group<'a>, Vec<&Seen<'a>>> = HashMap::new();
    for s in sessions {
        // use_root_auth_name: no user name, or root.
        let root = s.user.is_empty() || s.user == "root";
        let group = match (root, s.originator) {
            (true, "") => Group::Anonymous,
            (true, originator) => Group::Originator(originator),
            (false, _) => Group::UserName(s.user),
        };
        groups.entry(group).or_default().push(s);
    }
    let mut out = Vec::new();
    for (group, mut members) in groups {
        let limit = match group {
            Group::Anonymous => MAX_SESSIONS,
            Group::Originator(_) => MAX_SESSIONS_PER_ORIGINATOR,
            Group::UserName(_) => MAX_SESSIONS_PER_USER_NAME,
        };
        // Idle too long: destroyed whatever the count.
        members.retain(|s| {
            let old = now.saturating_duration_since(s.last_active) > INACTIVE_SESSION_TIMEOUT;
            if old {
                out.push(s.reference);
            }
            !old
        });
        // The most recently active `limit` are the lucky ones.
        members.sort_by_key(|s| std::cmp::Reverse(s.last_active));
        out.extend(members.iter().skip(limit).map(|s| s.reference));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_group_keeps_its_most_recently_active_sessions() {
        let start = Instant::now();
        let names: Vec<String> = (0..905).map(|i| format!("s{i}")).collect();
        // 501 of originator "offload", 401 of root without one, 3 of alice
        // (grouped by her name whatever the originator).
        let sessions: Vec<Seen<'_>> = names
            .iter()
            .enumerate()
            .map(|(i, reference)| {
                let (originator, user) = match i {
                    0..=500 => ("offload", "root"),
                    501..=901 => ("", ""),
                    _ => ("x", "alice"),
                };
                Seen {
                    reference,
                    originator,
                    user,
                    last_active: start + Duration::from_millis(i as u64),
                }
            })
            .collect();
        let mut gone = doomed(&sessions, start + Duration::from_secs(1));
        gone.sort();
        assert_eq!(gone, ["s0", "s501"]);
        // A day idle: gone whatever the count.
        let idle = [Seen {
            reference: "idle",
            originator: "o",
            user: "root",
            last_active: start,
        }];
        let later = start + INACTIVE_SESSION_TIMEOUT;
        assert!(doomed(&idle, later).is_empty());
        assert_eq!(doomed(&idle, later + Duration::from_secs(1)), ["idle"]);
    }
}
