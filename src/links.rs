//! Which hosts the page may contact, and on whose word (SECURITY.md, "Links"). A link or a
//! query names a model; the page fetches at once only from itself and the Hugging Face hub, and
//! asks first for any other host. `?hub=` names a mirror only as an https origin (or http on
//! this machine's loopback, for a local mirror), so that it cannot add to the page's
//! Content-Security-Policy or point at a path.

/// The Hugging Face hub.
pub const DEFAULT_HUB: &str = "https://huggingface.co";

/// The origin (`scheme://host[:port]`, lowercased) of an absolute http(s) URL; `None` for any
/// other scheme, a URL with credentials, or a host that is not a plain name, IPv4 or `[IPv6]`.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port, host_ok) = if let Some(rest) = authority.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            after => Some(after.strip_prefix(':')?),
        };
        let ok = !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        (&authority[..inner.len() + 2], port, ok)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        let ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        (host, port, ok)
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()));
    if !(host_ok && port_ok) {
        return None;
    }
    let mut origin = format!("{scheme}://{}", host.to_ascii_lowercase());
    if let Some(port) = port {
        origin.push(':');
        origin.push_str(port);
    }
    Some(origin)
}

/// Whether `origin` is this machine (a mirror on loopback may be plain http).
fn is_loopback(origin: &str) -> bool {
    let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
    let host = match authority.split_once(']') {
        Some((v6, _)) => return v6 == "[::1",
        None => authority.split(':').next().unwrap_or(""),
    };
    host == "localhost"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `?hub=` as the origin of a hub mirror: `https://host[:port]` (a trailing `/` is allowed),
/// or `http://` on loopback. Anything else, a path, a query or a `;`, is refused with why.
pub fn hub_origin(text: &str) -> Result<String, String> {
    let refuse = || {
        Err(format!(
            "`?hub={text}` is not a hub address (an https:// origin such as {DEFAULT_HUB}); \
             using {DEFAULT_HUB}"
        ))
    };
    let trimmed = text.strip_suffix('/').unwrap_or(text);
    let Some(origin) = origin(trimmed) else {
        return refuse();
    };
    if !trimmed.eq_ignore_ascii_case(&origin) {
        return refuse();
    }
    if origin.starts_with("https://") || is_loopback(&origin) {
        Ok(origin)
    } else {
        refuse()
    }
}

/// The host to ask about before fetching `base` on a link's word: `None` only when `base` is on
/// the page's own origin or the Hugging Face hub. An address this cannot read (credentials, an
/// odd host) is asked about whole: the question fails closed.
pub fn needs_consent(base: &str, page_origin: Option<&str>) -> Option<String> {
    let Some(origin) = origin(base) else {
        return Some(base.to_string());
    };
    let trusted = Some(origin.as_str()) == page_origin || origin == DEFAULT_HUB;
    (!trusted).then_some(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_web_addresses_only() {
        assert_eq!(
            origin("https://HF.co/a/b?c#d").as_deref(),
            Some("https://hf.co")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/x").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin("http://[::1]:9/").as_deref(), Some("http://[::1]:9"));
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "https://user:pw@host/",
            "https://ho st/",
            "https://host:port/",
            "https:///path",
            "//host/",
        ] {
            assert_eq!(origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_hub_is_an_https_origin_or_loopback() {
        assert_eq!(
            hub_origin("https://hf-mirror.com/").unwrap(),
            "https://hf-mirror.com"
        );
        assert_eq!(
            hub_origin("http://127.0.0.1:4000").unwrap(),
            "http://127.0.0.1:4000"
        );
        for bad in [
            "https://evil.example; script-src *",
            "https://a.example/path",
            "http://evil.example",
            "http://127.evil.example",
            "https://a.example?x",
            "javascript:1",
            "",
        ] {
            let err = hub_origin(bad).unwrap_err();
            assert!(err.contains("using https://huggingface.co"), "{bad}: {err}");
        }
    }

    #[test]
    fn only_the_page_and_the_hub_load_without_asking() {
        let page = Some("https://patchbay.example");
        assert_eq!(
            needs_consent("https://patchbay.example/static/models/m/", page),
            None
        );
        assert_eq!(
            needs_consent(
                "https://huggingface.co/openai-community/gpt2/resolve/main/",
                page
            ),
            None
        );
        assert_eq!(
            needs_consent("https://other.example/m/", page).as_deref(),
            Some("https://other.example")
        );
        assert_eq!(
            needs_consent("https://hf-mirror.com/gpt2/resolve/main/", page).as_deref(),
            Some("https://hf-mirror.com")
        );
        // Credentials in the address: not read as an origin, so asked about, never trusted.
        assert_eq!(
            needs_consent("https://huggingface.co@evil.example/m/", page).as_deref(),
            Some("https://huggingface.co@evil.example/m/")
        );
    }
}
