//! A strict parser of the Prometheus text exposition format (0.0.4), for the tests of
//! `/metrics`: every line must be a `# HELP`, a `# TYPE` or a sample; a family's `TYPE` comes
//! before its samples and at most once, its samples are contiguous, names and labels are
//! well-formed, label values use only the three escapes, no series appears twice, and the
//! document ends with a line feed.

use std::collections::{BTreeMap, BTreeSet};

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name.
    pub name: String,
    /// Label names and values (unescaped).
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

/// A parsed exposition.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    /// Family types by name (`counter`, `gauge`, ...).
    pub types: BTreeMap<String, String>,
    /// The samples, in order.
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The value of the series `name` with exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }
}

/// Parses `text`; the error names the line.
pub fn parse(text: &str) -> Result<Exposition, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the document does not end with a line feed".into());
    }
    let mut out = Exposition::default();
    let mut helped = BTreeSet::new();
    let mut closed = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut series = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let err = |why: &str| format!("line {}: {why}: {line:?}", i + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name, arg) = (parts.next(), parts.next(), parts.next());
            match (kw, name) {
                (Some("HELP"), Some(name)) => {
                    check_name(name).map_err(|e| err(&e))?;
                    if !helped.insert(name.to_string()) {
                        return Err(err("a second HELP"));
                    }
                }
                (Some("TYPE"), Some(name)) => {
                    check_name(name).map_err(|e| err(&e))?;
                    let kind = arg.ok_or_else(|| err("TYPE without a type"))?;
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(err("unknown type"));
                    }
                    if out.types.contains_key(name)
                        || closed.contains(name)
                        || out.samples.iter().any(|s| s.name == name)
                    {
                        return Err(err("TYPE after the family's samples or twice"));
                    }
                    out.types.insert(name.to_string(), kind.to_string());
                    if let Some(prev) = current.replace(name.to_string()) {
                        closed.insert(prev);
                    }
                }
                _ => {}
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            return Err(err("an empty line"));
        }
        let sample = parse_sample(line).map_err(|e| err(&e))?;
        if current.as_deref() != Some(sample.name.as_str()) {
            if closed.contains(&sample.name) || out.types.contains_key(&sample.name) {
                return Err(err("the family's samples are not contiguous"));
            }
            if let Some(prev) = current.replace(sample.name.clone()) {
                closed.insert(prev);
            }
        }
        let key = format!("{}{:?}", sample.name, sample.labels);
        if !series.insert(key) {
            return Err(err("the same series twice"));
        }
        out.samples.push(sample);
    }
    Ok(out)
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if ok {
        Ok(())
    } else {
        Err(format!("bad metric name {name:?}"))
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    check_name(name)?;
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let eq = rest.find('=').ok_or("label without '='")?;
            let key = &rest[..eq];
            let ok = key
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(format!("bad label name {key:?}"));
            }
            rest = rest[eq + 1..]
                .strip_prefix('"')
                .ok_or("unquoted label value")?;
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let end = loop {
                match chars.next().ok_or("unterminated label value")? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        c => return Err(format!("bad escape \\{c}")),
                    },
                    (_, c) => value.push(c),
                }
            };
            if labels.insert(key.to_string(), value).is_some() {
                return Err(format!("label {key:?} twice"));
            }
            rest = &rest[end + 1..];
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
            } else if !rest.starts_with('}') {
                return Err("labels not separated by ','".into());
            }
        }
    }
    let rest = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let mut fields = rest.split(' ');
    let value = fields.next().ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse::<f64>().map_err(|_| format!("bad value {v:?}"))?,
    };
    if let Some(ts) = fields.next() {
        ts.parse::<i64>()
            .map_err(|_| format!("bad timestamp {ts:?}"))?;
    }
    if fields.next().is_some() {
        return Err("trailing fields".into());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn good_documents_parse_and_bad_ones_fail() {
        let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{p=\"x\\\"y\"} 3\na_total{p=\"z\"} 1e3\n# TYPE b gauge\nb -Inf\n";
        let e = parse(good).unwrap();
        assert_eq!(e.value("a_total", &[("p", "x\"y")]), Some(3.0));
        assert_eq!(e.types["b"], "gauge");
        for bad in [
            "a 1",                                      // no final line feed
            "a{p=\"x\"} 1\na{p=\"x\"} 2\n",             // the same series twice
            "# TYPE a gauge\na 1\nb 1\na{x=\"1\"} 2\n", // not contiguous
            "a 1\n# TYPE a gauge\n",                    // TYPE after samples
            "a{p=x} 1\n",                               // unquoted
            "a{p=\"\\t\"} 1\n",                         // bad escape
            "1a 1\n",                                   // bad name
            "a one\n",                                  // bad value
            "# TYPE a thing\n",                         // unknown type
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
