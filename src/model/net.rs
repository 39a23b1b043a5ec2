//! What name resolution prints.

/// Distinct addresses, in the resolver's order.
/// (`getent ahosts` output.)
pub fn parse_ahosts(text: &str) -> Vec<String> {
    let mut addrs: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(a) = line.split_whitespace().next() {
            if a.parse::<std::net::IpAddr>().is_ok() && !addrs.iter().any(|x| x == a) {
                addrs.push(a.to_string());
            }
        }
    }
    addrs
}
