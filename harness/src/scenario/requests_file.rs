//! The requests file (`--requests FILE`, `requests = "FILE"`): one request per line.
//!
//! ```text
//! # comments and blank lines are skipped
//! METHOD URL [FIELD]...
//! GET  /                                   name=home
//! POST /api/items "Content-Type: application/json" @item.json name=create
//! GET  http://127.0.0.1:8080/search?q=x Accept:text/html
//! ```
//!
//! Fields are separated by whitespace; a field with spaces is written in double quotes
//! (`\"` and `\\` inside). After the method and the URL, each field is one of:
//! `name=NAME` (the request's name in the report, `req:NAME`; default `METHOD path`),
//! `@FILE` (the body, read from FILE relative to the requests file's folder), or a
//! header `Name: value`. These never collide: header names contain neither `@` nor `=`.
//! A URL may be a path (`/x`) when the workload has a `url` (`--url`), which gives the
//! scheme and host; every request goes to the same scheme and host.

use std::path::Path;

use hyper::header::{HeaderName, HeaderValue};

use super::request::{
    parse_header, parse_method, read_body_file, RequestError, RequestSpec, MAX_REQUEST_NAMES,
};
use super::url::Target;

/// Reads and parses the requests file at `path`; `base_url` resolves paths, `headers`
/// go first on every request.
pub(super) fn read(
    path: &Path,
    base_url: Option<&Target>,
    headers: &[(HeaderName, HeaderValue)],
) -> Result<Vec<RequestSpec>, RequestError> {
    let text = std::fs::read_to_string(path).map_err(|e| RequestError::File(e.to_string()))?;
    let har = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("har"));
    if har {
        return parse_har(&text, base_url, headers);
    }
    let folder = path.parent().unwrap_or(Path::new("."));
    parse(&text, folder, base_url, headers)
}

/// Adds `request` to `requests`, unless its name would be one distinct name too many.
fn push(
    requests: &mut Vec<RequestSpec>,
    names: &mut Vec<String>,
    request: RequestSpec,
) -> Result<(), String> {
    let name = request.name.clone().unwrap_or_default();
    if !names.contains(&name) {
        if names.len() == MAX_REQUEST_NAMES {
            return Err(format!(
                "more than {MAX_REQUEST_NAMES} distinct request names; give some requests the same name=…"
            ));
        }
        names.push(name);
    }
    requests.push(request);
    Ok(())
}

/// Headers of a HAR entry the driver sets itself (or that only HTTP/2 has).
fn driver_header(name: &str) -> bool {
    const OWN: [&str; 6] = [
        "host",
        "content-length",
        "connection",
        "transfer-encoding",
        "keep-alive",
        "upgrade",
    ];
    name.starts_with(':') || OWN.iter().any(|o| name.eq_ignore_ascii_case(o))
}

/// Parses a HAR file's `text` (`log.entries[].request`: its method, URL, headers and
/// `postData.text`), each entry a request named `METHOD path` as on a requests-file
/// line; headers the driver sets itself (Host, Content-Length, hop-by-hop, HTTP/2's
/// pseudo-headers) are left out.
pub(super) fn parse_har(
    text: &str,
    base_url: Option<&Target>,
    headers: &[(HeaderName, HeaderValue)],
) -> Result<Vec<RequestSpec>, RequestError> {
    let har: serde_json::Value =
        serde_json::from_str(text).map_err(|e| RequestError::File(format!("not HAR JSON: {e}")))?;
    let entries = har["log"]["entries"]
        .as_array()
        .ok_or_else(|| RequestError::File("no log.entries array: not a HAR file".into()))?;
    let mut requests: Vec<RequestSpec> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = |message: String| RequestError::Entry {
            entry: i + 1,
            message,
        };
        let request = &entry["request"];
        let field = |key: &str| request[key].as_str().map(str::to_string);
        let (Some(method), Some(url)) = (field("method"), field("url")) else {
            return Err(at("request.method and request.url must be strings".into()));
        };
        let mut fields = vec![method, url];
        for header in request["headers"].as_array().into_iter().flatten() {
            let (Some(name), Some(value)) = (header["name"].as_str(), header["value"].as_str())
            else {
                return Err(at("a header needs a name and a value (strings)".into()));
            };
            if !driver_header(name) {
                fields.push(format!("{name}: {value}"));
            }
        }
        let first = requests.first().map(|r| &r.target).or(base_url);
        let mut spec = parse_line(&fields, Path::new("."), first, headers).map_err(at)?;
        if let Some(body) = request["postData"]["text"].as_str() {
            spec.body = Some(bytes::Bytes::copy_from_slice(body.as_bytes()));
        }
        push(&mut requests, &mut names, spec).map_err(at)?;
    }
    if requests.is_empty() {
        return Err(RequestError::Empty);
    }
    Ok(requests)
}

/// Parses requests-file `text`; body files are relative to `folder`.
pub(super) fn parse(
    text: &str,
    folder: &Path,
    base_url: Option<&Target>,
    headers: &[(HeaderName, HeaderValue)],
) -> Result<Vec<RequestSpec>, RequestError> {
    let mut requests: Vec<RequestSpec> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let at = |message: String| RequestError::Line {
            line: i + 1,
            message,
        };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_fields(line).map_err(|m| at(m.into()))?;
        let first = requests.first().map(|r| &r.target).or(base_url);
        let request = parse_line(&fields, folder, first, headers).map_err(at)?;
        push(&mut requests, &mut names, request).map_err(at)?;
    }
    if requests.is_empty() {
        return Err(RequestError::Empty);
    }
    Ok(requests)
}

/// One line's request: `fields` are its fields, unquoted.
fn parse_line(
    fields: &[String],
    folder: &Path,
    first: Option<&Target>,
    defaults: &[(HeaderName, HeaderValue)],
) -> Result<RequestSpec, String> {
    let line = |message: &str| message.to_string();
    let text = |e: RequestError| e.to_string();
    let (Some(method), Some(url)) = (fields.first(), fields.get(1)) else {
        return Err(line(
            "expected METHOD URL [name=NAME] [Header: value]... [@FILE]",
        ));
    };
    let method = parse_method(method).map_err(text)?;
    let target = match (url.starts_with('/'), first) {
        (true, Some(base)) => Target {
            path: url.clone(),
            ..base.clone()
        },
        (true, None) => {
            return Err(line(
                "a path needs a base: give --url (or url = …), or write the full URL",
            ))
        }
        (false, _) => Target::parse(url).map_err(|e| e.to_string())?,
    };
    if let Some(base) = first {
        if (base.tls, &base.authority) != (target.tls, &target.authority) {
            return Err(line(&format!(
                "every request must go to {}://{} (the first URL's scheme and host)",
                if base.tls { "https" } else { "http" },
                base.authority
            )));
        }
    }
    let mut request = RequestSpec {
        name: None,
        method,
        target,
        headers: defaults.to_vec(),
        body: None,
    };
    for field in &fields[2..] {
        if let Some(name) = field.strip_prefix("name=") {
            if name.is_empty() {
                return Err(line("name= needs a name"));
            }
            request.name = Some(name.to_string());
        } else if let Some(file) = field.strip_prefix('@') {
            if request.body.is_some() {
                return Err(line("a request has one body (@FILE)"));
            }
            request.body = Some(read_body_file(file, folder).map_err(text)?);
        } else {
            request.headers.push(parse_header(field).map_err(text)?);
        }
    }
    if request.name.is_none() {
        request.name = Some(format!("{} {}", request.method, request.target.path));
    }
    Ok(request)
}

/// Splits a line on whitespace, a double-quoted field being one field.
fn split_fields(line: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&c) = chars.peek() else {
            return Ok(fields);
        };
        let mut field = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err("a quoted field has no closing \""),
                    Some('"') => break,
                    Some('\\') => field.push(chars.next().ok_or("a line ends in \\")?),
                    Some(c) => field.push(c),
                }
            }
            if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                return Err("a closing \" must be followed by a space");
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                field.push(c);
            }
        }
        fields.push(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<RequestSpec>, RequestError> {
        let base = Target::parse("http://127.0.0.1:9/").unwrap();
        parse(text, Path::new("."), Some(&base), &[])
    }

    #[test]
    fn reads_a_har_subset() {
        let har = r#"{"log": {"entries": [
            {"request": {"method": "GET", "url": "http://127.0.0.1:9/a?x=1",
              "headers": [{"name": ":authority", "value": "127.0.0.1:9"},
                          {"name": "Accept", "value": "text/html"},
                          {"name": "Host", "value": "127.0.0.1:9"}]}},
            {"request": {"method": "POST", "url": "http://127.0.0.1:9/b", "headers": [
              {"name": "Content-Type", "value": "application/json"},
              {"name": "Content-Length", "value": "7"}],
              "postData": {"mimeType": "application/json", "text": "{\"a\":1}"}}}
        ]}}"#;
        let r = parse_har(har, None, &[]).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].method.as_str(), r[0].target.path.as_str()),
            ("GET", "/a?x=1")
        );
        assert_eq!(r[0].headers.len(), 1, "only Accept: {:?}", r[0].headers);
        assert_eq!(r[0].name.as_deref(), Some("GET /a?x=1"));
        assert_eq!(r[1].body.as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(r[1].headers[0].0.as_str(), "content-type");
        assert_eq!(r[1].headers.len(), 1);
        let other_host = har.replace("9/b", "10/b");
        let err = parse_har(&other_host, None, &[]).unwrap_err().to_string();
        assert!(err.starts_with("entry 2:"), "{err}");
        assert!(parse_har("{}", None, &[]).is_err());
        assert!(matches!(
            parse_har(r#"{"log": {"entries": []}}"#, None, &[]),
            Err(RequestError::Empty)
        ));
    }

    #[test]
    fn parses_lines() {
        let r =
            parse_text("# c\n\nGET / name=home\npost /a?b=1 \"X-A: one two\" Accept:text/plain\n")
                .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].name.as_deref(), Some("home"));
        assert_eq!(r[1].name.as_deref(), Some("POST /a?b=1"));
        assert_eq!(r[1].headers.len(), 2);
        assert_eq!(r[1].headers[0].1, "one two");
    }

    #[test]
    fn errors_name_the_line() {
        for (text, want) in [
            ("GET /\nGET", "line 2"),
            ("GET / NoColon", "NoColon"),
            ("GET / @/no/such/file", "/no/such/file"),
            ("FETCH /", "FETCH"),
            ("GET / \"X: y", "closing"),
            ("GET http://127.0.0.2:9/", "every request"),
            ("", "no request"),
        ] {
            let e = parse_text(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let many: String = (0..=MAX_REQUEST_NAMES)
            .map(|i| format!("GET /{i}\n"))
            .collect();
        assert!(parse_text(&many)
            .unwrap_err()
            .to_string()
            .contains("distinct"));
    }
}
