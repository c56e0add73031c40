//! The request flags of `versus run --url` (`--method`, `-H`, `--body`, `--requests`,
//! `--order`, and the protocol's `--http2`, `--streams`): written into the url scenario the command line makes, so they are
//! checked by the same code as the scenario keys, and an error names the flag.

use crate::scenario::{self, Override, Scenario, ScenarioError};

/// What `versus run` was asked to send.
#[derive(Debug, Clone, Default)]
pub struct RequestFlags {
    /// `--method`.
    pub method: Option<String>,
    /// `-H/--header`, in order.
    pub headers: Vec<String>,
    /// `--body`: text, or `@FILE`.
    pub body: Option<String>,
    /// `--requests FILE`.
    pub requests: Option<String>,
    /// `--order cycle|random`.
    pub order: Option<String>,
    /// `--http2`.
    pub http2: bool,
    /// `--streams N`.
    pub streams: Option<u32>,
}

impl RequestFlags {
    /// Whether any flag was given.
    pub fn any(&self) -> bool {
        self.method.is_some()
            || !self.headers.is_empty()
            || self.body.is_some()
            || self.requests.is_some()
            || self.order.is_some()
            || self.http2
            || self.streams.is_some()
    }
}

/// The flag that sets scenario key `key`.
fn flag_of(key: &str) -> Option<&'static str> {
    Some(match key {
        "workload.url" => "--url",
        "workload.method" => "--method",
        "workload.headers" => "-H/--header",
        "workload.body" => "--body",
        "workload.requests" => "--requests",
        "workload.order" => "--order",
        "workload.http2" => "--http2",
        "workload.streams" => "--streams",
        _ => return None,
    })
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The url scenario of `--url URL` (or `--requests FILE` alone) with the request flags;
/// files are relative to the working directory. Errors name the flag.
pub fn url_scenario(
    url: Option<&str>,
    flags: &RequestFlags,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    let what = match (&flags.requests, url) {
        (Some(file), _) => format!("the requests of {file}"),
        (None, Some(url)) => format!("{} {url}", flags.method.as_deref().unwrap_or("GET")),
        (None, None) => String::new(),
    };
    let mut text = format!(
        "name = \"url\"\ndescription = {}\n[workload]\nkind = \"url\"\n",
        toml_string(&format!("{what} again and again."))
    );
    let keys = [
        ("url", url),
        ("method", flags.method.as_deref()),
        ("body", flags.body.as_deref()),
        ("requests", flags.requests.as_deref()),
        ("order", flags.order.as_deref()),
    ];
    for (key, value) in keys {
        if let Some(value) = value {
            text.push_str(&format!("{key} = {}\n", toml_string(value)));
        }
    }
    if !flags.headers.is_empty() {
        let headers: Vec<String> = flags.headers.iter().map(|h| toml_string(h)).collect();
        text.push_str(&format!("headers = [{}]\n", headers.join(", ")));
    }
    if flags.http2 {
        text.push_str("http2 = true\n");
    }
    if let Some(streams) = flags.streams {
        text.push_str(&format!("streams = {streams}\n"));
    }
    scenario::parse("--url", &text, overrides).map_err(|mut e| {
        if let Some(flag) = e.key.as_deref().and_then(flag_of) {
            e.source_name = flag.to_string();
            (e.line, e.column, e.key) = (None, None, None);
        }
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_flag() {
        let url = Some("http://127.0.0.1:9/");
        let bad = |flags: RequestFlags| url_scenario(url, &flags, &[]).unwrap_err().to_string();
        let e = bad(RequestFlags {
            headers: vec!["X-Ok: 1".into(), "NoColon".into()],
            ..Default::default()
        });
        assert!(
            e.starts_with("-H/--header: ") && e.contains("NoColon"),
            "{e}"
        );
        let e = bad(RequestFlags {
            method: Some("FETCH".into()),
            ..Default::default()
        });
        assert!(e.starts_with("--method: ") && e.contains("FETCH"), "{e}");
        let e = bad(RequestFlags {
            streams: Some(4),
            ..Default::default()
        });
        assert!(e.starts_with("--streams: ") && e.contains("--http2"), "{e}");
        let e = bad(RequestFlags {
            http2: true,
            streams: Some(0),
            ..Default::default()
        });
        assert!(
            e.starts_with("--streams: ") && e.contains("between 1 and 1000"),
            "{e}"
        );
        let e = bad(RequestFlags {
            body: Some("@/no/such/body".into()),
            ..Default::default()
        });
        assert!(
            e.starts_with("--body: ") && e.contains("/no/such/body"),
            "{e}"
        );
        let ok = url_scenario(
            url,
            &RequestFlags {
                method: Some("post".into()),
                headers: vec!["Content-Type: text/plain".into()],
                body: Some("hello".into()),
                ..Default::default()
            },
            &[],
        )
        .unwrap();
        let r = &ok.workload.resolved.list[0];
        assert_eq!(
            (r.method.as_str(), r.body.as_deref()),
            ("POST", Some(&b"hello"[..]))
        );
    }
}
