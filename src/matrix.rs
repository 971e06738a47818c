//! `dialectgate matrix`: the fidelity matrix as a summary table, one pair's member-level detail,
//! or a self-contained HTML page (heat map and per-pair drill-down).
//!
//! Every count and every column follows [`Fate::ALL`]: a new fate appears in each view without
//! changes here.

use std::fmt::Write as _;

use dialectgate_dialect::{Fate, LossReason, MatrixEntry, MemberFate};

/// The endpoints of `matrix`, in its order (`canonical` first, then the dialects).
pub fn sides(matrix: &[MatrixEntry]) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    for e in matrix {
        for id in [e.from.as_str(), e.to.as_str()] {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// The pair `from` → `to`.
pub fn pair<'a>(matrix: &'a [MatrixEntry], from: &str, to: &str) -> Option<&'a MatrixEntry> {
    matrix.iter().find(|e| e.from == from && e.to == to)
}

/// A cell: the count of each fate, in [`Fate::ALL`] order, separated by `/`.
fn cell(e: &MatrixEntry) -> String {
    Fate::ALL
        .iter()
        .map(|&f| e.count(f).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// The legend of a cell: `carried/derived/lost`.
fn legend() -> String {
    Fate::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>().join("/")
}

/// A value from a definition file, fit for a terminal: control characters become `?`.
fn plain(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// The summary: one row per source, one column per target.
pub fn summary(matrix: &[MatrixEntry]) -> String {
    let ids: Vec<String> = sides(matrix).into_iter().map(plain).collect();
    let label = ids
        .iter()
        .map(|i| i.chars().count())
        .max()
        .unwrap_or(0)
        .max("from \\ to".len());
    // Each column as wide as its id or its widest cell: ten sides still fit 160 columns.
    let widths: Vec<usize> = sides(matrix)
        .into_iter()
        .zip(&ids)
        .map(|(to, id)| {
            matrix
                .iter()
                .filter(|e| e.to == to)
                .map(|e| cell(e).len())
                .chain(std::iter::once(id.chars().count()))
                .max()
                .unwrap_or(1)
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Fidelity matrix: rows are sources, columns targets; each cell counts the source's request members {}.",
        legend()
    );
    let _ = writeln!(out);
    let mut line = format!("{:<label$}", "from \\ to");
    for (id, width) in ids.iter().zip(&widths) {
        let _ = write!(line, "  {id:>width$}");
    }
    let _ = writeln!(out, "{}", line.trim_end());
    for (row, from) in sides(matrix).into_iter().enumerate() {
        let mut line = format!("{:<label$}", ids[row]);
        for (to, width) in sides(matrix).into_iter().zip(&widths) {
            let text = match pair(matrix, from, to) {
                Some(e) => cell(e),
                None => "-".to_owned(),
            };
            let _ = write!(line, "  {text:>width$}");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(out);
    for fate in Fate::ALL {
        let _ = writeln!(out, "  {:<8} {}", fate.as_str(), meaning(fate));
    }
    let _ = writeln!(
        out,
        "\nOne pair, member by member: dialectgate matrix --from <source> --to <target>"
    );
    out
}

/// What a fate means, for legends.
fn meaning(fate: Fate) -> &'static str {
    match fate {
        Fate::Carried => "the target has a member for it: carried as it is",
        Fate::Derived => "the target receives it only inside a member computed from others",
        Fate::Filled => "reaches the target with stored members read beside it (translation.fill = \"read\")",
        Fate::Overflow => {
            "no place in the target but its extension bag (translation.overflow; lost otherwise)"
        }
        Fate::Lost => "the target has no place for it",
    }
}

/// Why a member is lost, in words.
fn why(reason: Option<LossReason>, to: &str) -> String {
    match reason {
        Some(LossReason::CannotClear) => format!("{to} cannot clear it"),
        Some(LossReason::PartialReplace) => {
            format!("{to} replaces the enclosing object in full, so an omitted member would be cleared")
        }
        Some(LossReason::Secret) => format!("{to} has no member for it, and a secret never travels in a bag"),
        Some(LossReason::NoTarget) | None => format!("{to} has no member for it"),
    }
}

/// One member's detail: where it lands, or why it does not.
fn detail(m: &MemberFate, to: &str) -> String {
    match m.fate {
        Fate::Carried => format!("to {}", m.target.join(", ")),
        Fate::Derived => format!("derived into {}", m.target.join(", ")),
        Fate::Filled => format!("to {}, with stored members filled in", m.target.join(", ")),
        Fate::Overflow => format!("into the bag {} (translation.overflow)", m.target.join(", ")),
        Fate::Lost => why(m.reason, to),
    }
}

/// The heading of a pair: `a → b: 3 carried, 0 derived, 4 lost (of 7 members)`.
fn heading(e: &MatrixEntry) -> String {
    let counts: Vec<String> = Fate::ALL
        .iter()
        .map(|&f| format!("{} {}", e.count(f), f.as_str()))
        .collect();
    format!(
        "{} → {}: {} (of {} request members)",
        e.from,
        e.to,
        counts.join(", "),
        e.members.len()
    )
}

/// One pair, member by member.
pub fn pair_detail(e: &MatrixEntry) -> String {
    let to = plain(&e.to);
    let rows: Vec<(String, &str, String)> = e
        .members
        .iter()
        .map(|m| (plain(&m.member), m.fate.as_str(), plain(&detail(m, &to))))
        .collect();
    let member = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0).max(6);
    let fate = Fate::ALL.iter().map(|f| f.as_str().len()).max().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(out, "{}", plain(&heading(e)));
    let _ = writeln!(out);
    let _ = writeln!(out, "{:<member$}  {:<fate$}  detail", "member", "fate");
    for (m, f, d) in rows {
        let _ = writeln!(out, "{m:<member$}  {f:<fate$}  {d}");
    }
    out
}

/// The share of lost members, 0 (none lost) to 1 (all lost).
fn lost_share(e: &MatrixEntry) -> f64 {
    if e.members.is_empty() {
        return 0.0;
    }
    // Member counts are small: exact as f64.
    e.count(Fate::Lost) as f64 / e.members.len() as f64
}

/// The page's data for the drill-down, as JSON safe inside a `<script>` element.
fn page_data(matrix: &[MatrixEntry]) -> String {
    let pairs: Vec<serde_json::Value> = matrix
        .iter()
        .map(|e| {
            serde_json::json!({
                "from": e.from,
                "to": e.to,
                "heading": heading(e),
                "members": e.members.iter().map(|m| serde_json::json!({
                    "member": m.member,
                    "fate": m.fate,
                    "detail": detail(m, &e.to),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    // `<`, `>` and `&` only occur inside JSON strings, where their \u escapes mean the same.
    serde_json::Value::Array(pairs)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

const STYLE: &str = r##"
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1d232a; background: #fff; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
p.note { color: #4b5563; margin: .2em 0 1.2em; }
table { border-collapse: collapse; }
#matrix th, #matrix td { border: 1px solid #d0d7de; padding: 0; text-align: center; }
#matrix th { padding: .4em .7em; background: #f6f8fa; font-weight: 600; }
#matrix th[scope=row] { text-align: left; }
#matrix td.cell button { all: unset; box-sizing: border-box; display: block; width: 100%; padding: .5em .9em;
  cursor: pointer; font-variant-numeric: tabular-nums; }
#matrix td.cell button:focus-visible { outline: 3px solid #0969da; outline-offset: -3px; }
#matrix td.same { background: #eaeef2; color: #8c959f; padding: .5em .9em; }
#matrix td.selected { box-shadow: inset 0 0 0 3px #1d232a; }
.legend { margin: .8em 0 1.5em; display: flex; gap: 1.2em; flex-wrap: wrap; color: #4b5563; }
.swatch { display: inline-block; width: 2.5em; height: .9em; vertical-align: middle;
  background: linear-gradient(90deg, hsl(120 65% 78%), hsl(60 65% 78%), hsl(0 65% 78%)); }
#detail table { margin-top: .5em; }
#detail th, #detail td { text-align: left; padding: .25em .8em; border-bottom: 1px solid #eaeef2; }
#detail td.member { font-family: ui-monospace, monospace; }
.fate { padding: .05em .5em; border-radius: .8em; font-size: .9em; }
.fate-carried { background: #dafbe1; } .fate-derived { background: #fff8c5; } .fate-filled { background: #ddf4ff; } .fate-overflow { background: #fbefff; } .fate-lost { background: #ffebe9; }
"##;

const SCRIPT: &str = r##"
"use strict";
const pairs = JSON.parse(document.getElementById("matrix-data").textContent);
const detail = document.getElementById("detail");
function element(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}
function show(from, to) {
  const pair = pairs.find((p) => p.from === from && p.to === to);
  if (!pair) return;
  for (const td of document.querySelectorAll("#matrix td.selected")) td.classList.remove("selected");
  for (const td of document.querySelectorAll("#matrix td.cell:not(.same)")) {
    if (td.dataset.from === from && td.dataset.to === to) td.classList.add("selected");
  }
  const table = element("table");
  const head = table.createTHead().insertRow();
  for (const h of ["member", "fate", "detail"]) head.appendChild(element("th", h));
  const body = table.createTBody();
  for (const m of pair.members) {
    const row = body.insertRow();
    row.appendChild(element("td", m.member, "member"));
    const fate = row.insertCell();
    fate.appendChild(element("span", m.fate, "fate fate-" + m.fate));
    row.appendChild(element("td", m.detail));
  }
  detail.replaceChildren(element("h2", pair.heading), table);
}
for (const button of document.querySelectorAll("#matrix td.cell button")) {
  const td = button.parentElement;
  button.addEventListener("click", () => show(td.dataset.from, td.dataset.to));
}
const first = document.querySelector("#matrix td.cell:not(.same)");
const start = document.body.dataset.start ? JSON.parse(document.body.dataset.start) : null;
if (start) show(start[0], start[1]); else if (first) show(first.dataset.from, first.dataset.to);
const cells = document.querySelectorAll("#matrix td.cell").length;
document.body.dataset.ready = String(cells);
console.info("dialectgate matrix ready: " + cells + " cells");
"##;

/// The whole matrix as one self-contained HTML page; `start` is the pair shown first.
pub fn html(matrix: &[MatrixEntry], start: Option<(&str, &str)>) -> String {
    let ids = sides(matrix);
    let mut page = String::new();
    let start_attr = start.map_or(String::new(), |(f, t)| {
        format!(
            " data-start=\"{}\"",
            crate::markup::escape(&serde_json::json!([f, t]).to_string())
        )
    });
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>dialectgate fidelity matrix</title>\n<style>{STYLE}</style>\n</head>\n<body{start_attr}>\n\
         <h1>Fidelity matrix</h1>\n<p class=\"note\">Rows are sources, columns targets. Each cell counts the \
         source's request members {}; its colour is the share lost. Choose a cell for its members.</p>\n",
        crate::markup::escape(&legend())
    );
    page.push_str("<table id=\"matrix\">\n<thead><tr><th>from \\ to</th>");
    for to in &ids {
        let _ = write!(page, "<th scope=\"col\">{}</th>", crate::markup::escape(to));
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for from in &ids {
        let _ = write!(page, "<tr><th scope=\"row\">{}</th>", crate::markup::escape(from));
        for to in &ids {
            let (f, t) = (crate::markup::escape(from), crate::markup::escape(to));
            match pair(matrix, from, to) {
                Some(e) => {
                    let hue = 120.0 * (1.0 - lost_share(e));
                    let title: Vec<String> = Fate::ALL
                        .iter()
                        .map(|&fate| format!("{} {}", e.count(fate), fate.as_str()))
                        .collect();
                    let _ = write!(
                        page,
                        "<td class=\"cell\" data-from=\"{f}\" data-to=\"{t}\" style=\"background: hsl({hue:.0} 65% 78%)\" \
                         title=\"{f} → {t}: {}\"><button type=\"button\">{}</button></td>",
                        crate::markup::escape(&title.join(", ")),
                        crate::markup::escape(&cell(e))
                    );
                }
                None => {
                    let _ = write!(
                        page,
                        "<td class=\"cell same\" data-from=\"{f}\" data-to=\"{t}\" title=\"{f} is itself\">—</td>"
                    );
                }
            }
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n<div class=\"legend\">");
    page.push_str("<span><span class=\"swatch\"></span> none lost → all lost</span>");
    for fate in Fate::ALL {
        let _ = write!(
            page,
            "<span><span class=\"fate fate-{0}\">{0}</span> {1}</span>",
            fate.as_str(),
            crate::markup::escape(meaning(fate))
        );
    }
    page.push_str("</div>\n<section id=\"detail\" aria-live=\"polite\"></section>\n");
    let _ = write!(
        page,
        "<script type=\"application/json\" id=\"matrix-data\">{}</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        page_data(matrix)
    );
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(from: &str, to: &str, fates: &[Fate]) -> MatrixEntry {
        let members: Vec<MemberFate> = fates
            .iter()
            .enumerate()
            .map(|(i, &fate)| MemberFate {
                member: format!("/m{i}"),
                fate,
                target: if fate == Fate::Lost {
                    vec![]
                } else {
                    vec![format!("/t{i}")]
                },
                reason: (fate == Fate::Lost).then_some(LossReason::NoTarget),
            })
            .collect();
        let list = |f: Fate| {
            members
                .iter()
                .filter(|m| m.fate == f)
                .map(|m| m.member.clone())
                .collect()
        };
        MatrixEntry {
            from: from.into(),
            to: to.into(),
            carried: list(Fate::Carried),
            derived: list(Fate::Derived),
            filled: list(Fate::Filled),
            overflow: list(Fate::Overflow),
            lost: list(Fate::Lost),
            members,
        }
    }

    fn two() -> Vec<MatrixEntry> {
        vec![
            entry("canonical", "a", &[Fate::Carried, Fate::Lost, Fate::Lost]),
            entry("a", "canonical", &[Fate::Carried, Fate::Derived]),
        ]
    }

    #[test]
    fn the_summary_has_a_row_and_a_column_per_side_and_counts_each_fate() {
        let text = summary(&two());
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].contains("carried/derived/filled/overflow/lost"),
            "{text}"
        );
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["from", "\\", "to", "canonical", "a"]
        );
        assert_eq!(
            lines[3].split_whitespace().collect::<Vec<_>>(),
            ["canonical", "-", "1/0/0/0/2"]
        );
        assert_eq!(
            lines[4].split_whitespace().collect::<Vec<_>>(),
            ["a", "1/1/0/0/0", "-"]
        );
    }

    #[test]
    fn the_pair_detail_says_where_each_member_lands_or_why_not() {
        let text = pair_detail(&two()[0]);
        assert!(
            text.starts_with(
                "canonical → a: 1 carried, 0 derived, 0 filled, 0 overflow, 2 lost (of 3 request members)"
            ),
            "{text}"
        );
        assert!(text.contains("/m0     carried   to /t0"), "{text}");
        assert!(
            text.contains("/m1     lost      a has no member for it"),
            "{text}"
        );
    }

    #[test]
    fn terminal_text_has_no_control_characters() {
        let mut m = two();
        m[0].to = "a\u{1b}[2J".into();
        m[1].from = "a\u{1b}[2J".into();
        assert!(!summary(&m).contains('\u{1b}'));
        assert!(!pair_detail(&m[0]).contains('\u{1b}'));
    }

    #[test]
    fn the_page_escapes_names_and_cannot_close_its_script_early() {
        let mut m = two();
        m[0].to = "<b>\"x\"".into();
        m[1].from = "<b>\"x\"".into();
        m[0].members[0].member = "</script><script>alert(1)</script>".into();
        let page = html(&m, None);
        assert!(!page.contains("<b>"), "names are escaped");
        assert_eq!(
            page.matches("</script>").count(),
            2,
            "only the page's own scripts close"
        );
        assert!(page.contains("\\u003c/script\\u003e"));
        assert_eq!(page.matches("<td class=\"cell").count(), 4);
        assert!(page.contains("hsl(40 65% 78%)"), "two of three lost: hue 40");
        assert!(page.contains("hsl(120 65% 78%)"), "none lost: green");
    }
}
