//! `--format` templates: Go text/template syntax (via the `gotmpl` crate), skopeo's format
//! normalisation, and Go's tabwriter alignment of tab-separated output.

use gotmpl::{Template, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// containers/common's `report.IsJSON`: `json` or `{{json .}}` asks for the plain JSON output.
pub fn is_json_format(format: &str) -> bool {
    let t = format.trim();
    if t == "json" {
        return true;
    }
    let Some(inner) = t.strip_prefix("{{").and_then(|s| s.strip_suffix("}}")) else {
        return false;
    };
    let inner = inner.trim();
    let Some(rest) = inner.strip_prefix("json") else {
        return false;
    };
    matches!(rest.trim(), "" | ".")
}

/// containers/common's `report.NormalizeFormat`: drops a `table ` prefix (turning spaces into
/// tabs), unescapes `\t` and `\n`, and ends the format with a newline.
pub fn normalize_format(format: &str) -> String {
    let mut f = if let Some(rest) = format.strip_prefix("table ") {
        rest.replace("\\t", "\t")
            .replace(' ', "\t")
            .replace("\\n", "\n")
    } else {
        format.replace("\\t", "\t").replace("\\n", "\n")
    };
    if !f.ends_with('\n') {
        f.push('\n');
    }
    f
}

/// Renders `format` over `value` as skopeo does: `{{range . }}FORMAT{{end}}` over a one-item
/// list, then aligned by a tabwriter (min width 8, padding 2).
pub fn render(format: &str, value: Value) -> Result<String, String> {
    let source = format!("{{{{range . }}}}{}{{{{end}}}}", normalize_format(format));
    let tmpl = Template::new("skopeo inspect")
        .missing_key(gotmpl::MissingKey::Error)
        .func("json", |args: &[Value]| {
            let v = args.first().cloned().unwrap_or(Value::Nil);
            let json = crate::gojson::to_compact(&to_json(&v), false);
            Ok(Value::String(String::from_utf8_lossy(&json).into()))
        })
        .func("join", |args: &[Value]| {
            let sep = args.get(1).map(|v| v.to_string()).unwrap_or_default();
            let items: Vec<String> = match args.first() {
                Some(Value::List(l)) => l.iter().map(|v| v.to_string()).collect(),
                _ => Vec::new(),
            };
            Ok(Value::String(items.join(&sep).into()))
        })
        .func("lower", |args: &[Value]| {
            Ok(Value::String(
                args.first()
                    .map(|v| v.to_string().to_lowercase())
                    .unwrap_or_default()
                    .into(),
            ))
        })
        .func("upper", |args: &[Value]| {
            Ok(Value::String(
                args.first()
                    .map(|v| v.to_string().to_uppercase())
                    .unwrap_or_default()
                    .into(),
            ))
        })
        .parse(&source)
        .map_err(|e| format!("template: {e}"))?;
    let data = Value::List(Arc::from(vec![value]));
    let out = tmpl
        .execute_to_string(&data)
        .map_err(|e| format!("template: {e}"))?;
    Ok(tabwrite(&out, 8, 2))
}

/// A template value back to JSON (for the `json` function).
fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Nil => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Uint(u) => (*u).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::List(l) => l.iter().map(to_json).collect(),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| (k.to_string(), to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        _ => serde_json::Value::Null,
    }
}

/// Builds a template map from `(key, value)` pairs.
pub fn map(entries: Vec<(&str, Value)>) -> Value {
    let m: BTreeMap<Arc<str>, Value> = entries
        .into_iter()
        .map(|(k, v)| (Arc::from(k), v))
        .collect();
    Value::Map(Arc::new(m))
}

/// A string value.
pub fn string(s: &str) -> Value {
    Value::String(s.into())
}

/// A list of strings (`nil` prints as `[]` in Go, so `None` becomes an empty list).
pub fn strings(items: Option<&[String]>) -> Value {
    Value::List(
        items
            .unwrap_or_default()
            .iter()
            .map(|s| string(s))
            .collect::<Vec<_>>()
            .into(),
    )
}

/// A string map (`nil` prints as `map[]` in Go).
pub fn string_map(m: Option<&BTreeMap<String, String>>) -> Value {
    map(m
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), string(v)))
        .collect())
}

/// Go's `text/tabwriter` (no flags, space padding): tab-terminated cells are aligned in
/// columns across consecutive lines; the last cell of each line is left as is.
pub fn tabwrite(text: &str, min_width: usize, padding: usize) -> String {
    if !text.contains('\t') {
        return text.to_owned();
    }
    let lines: Vec<Vec<&str>> = text
        .split_inclusive('\n')
        .map(|l| l.split('\t').collect())
        .collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut widths = Vec::new();
    format_block(
        &lines,
        0,
        lines.len(),
        &mut widths,
        min_width,
        padding,
        &mut out,
    );
    out
}

fn format_block(
    lines: &[Vec<&str>],
    mut line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    min_width: usize,
    padding: usize,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, line0, this, widths, out);
        line0 = this;
        let mut width = min_width;
        while this < line1 && column + 1 < lines[this].len() {
            width = width.max(lines[this][column].chars().count() + padding);
            this += 1;
        }
        widths.push(width);
        format_block(lines, line0, this, widths, min_width, padding, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, line0, line1, widths, out);
}

fn write_lines(lines: &[Vec<&str>], from: usize, to: usize, widths: &[usize], out: &mut String) {
    for cells in &lines[from..to] {
        for (j, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < cells.len() {
                let w = widths.get(j).copied().unwrap_or(0);
                let pad = w.saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_detection() {
        assert!(is_json_format("json"));
        assert!(is_json_format(" {{ json . }} "));
        assert!(is_json_format("{{json}}"));
        assert!(!is_json_format("{{json .Labels}}"));
    }

    #[test]
    fn renders_fields_and_ranges() {
        let v = map(vec![
            ("Name", string("x")),
            ("Layers", strings(Some(&["a".into(), "b".into()]))),
        ]);
        assert_eq!(
            render("{{.Name}} {{.Layers}}", v.clone()).unwrap(),
            "x [a b]\n"
        );
        assert_eq!(
            render("{{range .Layers}}{{.}},{{end}}", v.clone()).unwrap(),
            "a,b,\n"
        );
        assert_eq!(render("{{index .Layers 1}}", v.clone()).unwrap(), "b\n");
        assert_eq!(
            render("{{json .Layers}}", v.clone()).unwrap(),
            "[\"a\",\"b\"]\n"
        );
        assert!(render("{{.Nope}}", v).is_err());
    }

    #[test]
    fn aligns_tabs() {
        assert_eq!(
            tabwrite("a\tb\nlonger cell\tc\n", 8, 2),
            "a            b\nlonger cell  c\n"
        );
    }
}
