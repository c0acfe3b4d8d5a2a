//! Shell-style name globs (`*` any run, `?` one character), for selecting
//! interfaces, hosts and VMs by name.

/// Whether `name` matches `pattern`. Linear-time backtracking over the last
/// `*` (no recursion), so hostile patterns such as `*a*a*a*b` stay cheap.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: &[u8] = pattern.as_bytes();
    let n: &[u8] = name.as_bytes();
    // Work on chars so `?` matches one UTF-8 character, not one byte.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let char_len = utf8_len(n[ni]);
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == b'?' {
            pi += 1;
            ni += char_len;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((star_p, star_n)) = star {
            // Let the last `*` swallow one more character and retry.
            let next = star_n + utf8_len(n[star_n]);
            star = Some((star_p, next));
            pi = star_p + 1;
            ni = next;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        // A continuation byte cannot start a character in a &str.
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs_match_like_the_shell() {
        assert!(matches("vif*", "vif3.0"));
        assert!(matches("eth?", "eth0"));
        assert!(!matches("eth?", "eth10"));
        assert!(matches("*", ""));
        assert!(!matches("bond*", "eth0"));
        assert!(matches("pf*-fw?", "pfSense-fw1"));
        assert!(matches("*Sense*", "pfSense"));
        assert!(!matches("*sense*", "pfSense"));
        assert!(!matches("*Sense", "pfSense-2"));
        assert!(matches("web-??", "web-01"));
        assert!(matches("caf?", "café"));
        assert!(matches("", ""));
        assert!(!matches("", "x"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
    }

    #[test]
    fn hostile_patterns_stay_fast() {
        let name = "a".repeat(5000);
        assert!(!matches("*a*a*a*a*a*a*a*a*b", &name));
    }
}
