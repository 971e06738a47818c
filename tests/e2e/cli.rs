//! The real binary's offline commands: the fidelity matrix (summary, one pair, JSON, an HTML page
//! rendered in headless Chromium), `validate` and `translate` over a directory with JUnit output,
//! shell completions and the manual page.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_dialectgate");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// A fresh, empty temporary directory.
fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dg-cli-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn matrix_json() -> Vec<Value> {
    serde_json::from_str(&stdout(&run(&["matrix", "--format", "json"]))).unwrap()
}

fn sides() -> Vec<String> {
    let mut ids = vec!["canonical".to_owned()];
    ids.extend(crate::harness::DIALECTS.iter().map(|d| (*d).to_owned()));
    ids
}

#[test]
fn matrix_summary_fits_a_terminal_with_a_row_and_a_column_per_side() {
    let text = stdout(&run(&["matrix"]));
    for line in text.lines() {
        assert!(
            line.chars().count() <= 160,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    let json = matrix_json();
    let ids = sides();
    // canonical and at least the five first dialects.
    assert!(ids.len() >= 6, "{ids:?}");
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("from \\ to"))
        .unwrap_or_else(|| panic!("no header row: {text}"));
    let columns: Vec<&str> = lines[header].split_whitespace().skip(3).collect();
    assert_eq!(columns, ids);
    for (row, from) in ids.iter().enumerate() {
        let cells: Vec<&str> = lines[header + 1 + row].split_whitespace().collect();
        assert_eq!(cells[0], from);
        assert_eq!(cells.len(), 1 + ids.len(), "{}", lines[header + 1 + row]);
        for (col, to) in ids.iter().enumerate() {
            let expected = if from == to {
                "-".to_owned()
            } else {
                let e = json
                    .iter()
                    .find(|e| e["from"] == from.as_str() && e["to"] == to.as_str())
                    .unwrap();
                let n = |k: &str| e[k].as_array().unwrap().len();
                format!(
                    "{}/{}/{}/{}/{}",
                    n("carried"),
                    n("derived"),
                    n("filled"),
                    n("overflow"),
                    n("lost")
                )
            };
            assert_eq!(cells[1 + col], expected, "{from} -> {to}");
        }
    }
    assert!(
        text.contains("carried/derived/filled/overflow/lost"),
        "the cell is explained: {text}"
    );
}

#[test]
fn matrix_pair_detail_gives_every_member_its_fate() {
    let text = stdout(&run(&["matrix", "--from", "medusa", "--to", "elasticpath"]));
    let json = matrix_json();
    let e = json
        .iter()
        .find(|e| e["from"] == "medusa" && e["to"] == "elasticpath")
        .unwrap();
    let members = e["members"].as_array().unwrap();
    assert!(!members.is_empty());
    assert!(
        text.starts_with(&format!(
            "medusa → elasticpath: {} carried, {} derived, {} filled, {} overflow, {} lost",
            e["carried"].as_array().unwrap().len(),
            e["derived"].as_array().unwrap().len(),
            e["filled"].as_array().unwrap().len(),
            e["overflow"].as_array().unwrap().len(),
            e["lost"].as_array().unwrap().len()
        )),
        "{text}"
    );
    for m in members {
        let member = m["member"].as_str().unwrap();
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(member))
            .unwrap_or_else(|| panic!("no line for {member}: {text}"));
        assert_eq!(line.split_whitespace().nth(1), m["fate"].as_str(), "{line}");
    }
    assert!(
        text.contains("/data/name, with stored members filled in"),
        "{text}"
    );
    assert!(text.contains("elasticpath has no member for it"), "{text}");

    let unknown = run(&["matrix", "--from", "medusa", "--to", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown dialect `nope`"));
    let alone = run(&["matrix", "--from", "medusa"]);
    assert_eq!(alone.status.code(), Some(2), "--from needs --to");
}

#[test]
fn matrix_json_keeps_its_shape_and_the_json_flag() {
    let json = matrix_json();
    // Every ordered pair of sides.
    let n = sides().len();
    assert_eq!(json.len(), n * (n - 1));
    for e in &json {
        for k in [
            "from", "to", "carried", "derived", "filled", "overflow", "lost", "members",
        ] {
            assert!(e.get(k).is_some(), "{k} missing: {e}");
        }
    }
    let alias: Vec<Value> = serde_json::from_str(&stdout(&run(&["matrix", "--json"]))).unwrap();
    assert_eq!(alias, json);
    let one: Value = serde_json::from_str(&stdout(&run(&[
        "matrix", "--from", "axim", "--to", "medusa", "--format", "json",
    ])))
    .unwrap();
    assert_eq!(
        &one,
        json.iter()
            .find(|e| e["from"] == "axim" && e["to"] == "medusa")
            .unwrap()
    );
}

/// The flags the brief gives for a headless, offline Chromium with its own profile.
fn chromium(profile: &Path) -> Command {
    let mut c = Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .stdin(Stdio::null());
    c
}

#[test]
fn matrix_html_renders_in_headless_chromium() {
    let dir = temp_dir("html");
    let page = stdout(&run(&["matrix", "--format", "html"]));
    // Self-contained: nothing is fetched.
    for needle in ["http://", "https://", " src=", " href=", "@import"] {
        assert!(!page.contains(needle), "the page refers to {needle}");
    }
    // A cell per ordered pair of sides, the diagonal included.
    let cells = sides().len() * sides().len();
    assert_eq!(page.matches("<td class=\"cell").count(), cells);
    let file = dir.join("matrix.html");
    std::fs::write(&file, &page).unwrap();
    let url = format!("file://{}", file.display());

    if Command::new("chromium").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium must be installed in CI (.ci/run does it)"
        );
        eprintln!(
            "SKIPPED matrix_html_renders_in_headless_chromium: `chromium` is not installed (.ci/run installs it)"
        );
        return;
    }
    // The DOM after the page's script ran: every cell, ready, one pair drilled down.
    let dom = chromium(&dir.join("profile-dom"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(dom.matches("<td class=\"cell").count(), cells, "{dom}");
    assert!(
        dom.contains(&format!("data-ready=\"{cells}\"")),
        "the script ran to its end: {dom}"
    );
    assert!(
        dom.contains("<h2>canonical → axim: "),
        "the first pair is drilled down: {dom}"
    );
    assert!(dom.contains("<td class=\"member\">"), "{dom}");

    // A screenshot, with the console on stderr: the page's one message and no other.
    let png = dir.join("matrix.png");
    let shot = chromium(&dir.join("profile-shot"))
        .args(["--enable-logging=stderr", "--v=0", "--window-size=1300,1100"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&shot.stderr);
    assert!(shot.status.success(), "{log}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console
            .iter()
            .any(|l| l.contains(&format!("dialectgate matrix ready: {cells} cells"))),
        "the console is captured: {log}"
    );
    assert!(!log.contains("Uncaught"), "{log}");
    assert_eq!(
        console.len(),
        1,
        "a console message besides the ready line: {console:#?}"
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 20_000,
        "a near-empty screenshot: {} bytes",
        bytes.len()
    );
    let _ = std::fs::remove_dir_all(dir.join("profile-dom"));
    let _ = std::fs::remove_dir_all(dir.join("profile-shot"));
}

/// The JUnit document's test cases: (name, failure type or error, failure message).
fn junit_cases(xml: &str) -> Vec<(String, Option<(String, String)>)> {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not XML ({e}): {xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            let fault = n
                .children()
                .find(|c| c.has_tag_name("failure") || c.has_tag_name("error"))
                .map(|c| {
                    (
                        c.attribute("type").unwrap_or_default().to_owned(),
                        c.attribute("message").unwrap_or_default().to_owned(),
                    )
                });
            (n.attribute("name").unwrap().to_owned(), fault)
        })
        .collect()
}

/// A directory of medusa bodies: two valid, one invalid, one not JSON, one not `*.json`.
fn medusa_dir(label: &str) -> PathBuf {
    let dir = temp_dir(label);
    std::fs::write(dir.join("a-valid.json"), r#"{"email": "ada@example.com"}"#).unwrap();
    std::fs::write(
        dir.join("b-invalid <&>.json"),
        r#"{"email": "ada@example.com", "is_admin": true}"#,
    )
    .unwrap();
    std::fs::write(dir.join("c-malformed.json"), "{\"email\": ").unwrap();
    std::fs::write(
        dir.join("d-valid.json"),
        r#"{"first_name": "Ada", "phone": "+44 1"}"#,
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not a body").unwrap();
    dir
}

#[test]
fn validate_a_directory_as_junit() {
    let dir = medusa_dir("validate");
    let out = run(&[
        "validate",
        "--dialect",
        "medusa",
        "--format",
        "junit",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = String::from_utf8(out.stdout).unwrap();
    let cases = junit_cases(&xml);
    let names: Vec<String> = cases
        .iter()
        .map(|(n, _)| Path::new(n).file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "a-valid.json",
            "b-invalid <&>.json",
            "c-malformed.json",
            "d-valid.json"
        ],
        "every *.json, in name order"
    );
    assert_eq!(cases[0].1, None);
    let (kind, message) = cases[1].1.clone().unwrap();
    assert_eq!(kind, "validation");
    assert!(message.contains("is_admin"), "{message}");
    assert_eq!(cases[2].1.as_ref().unwrap().0, "malformed");
    assert_eq!(cases[3].1, None);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("tests"), Some("4"));
    assert_eq!(root.attribute("failures"), Some("2"));
    assert_eq!(root.attribute("errors"), Some("0"));

    // All valid: exit 0. An unreadable input: exit 2, reported as an error case.
    let ok = run(&[
        "validate",
        "--dialect",
        "medusa",
        "--format",
        "junit",
        dir.join("a-valid.json").to_str().unwrap(),
        dir.join("d-valid.json").to_str().unwrap(),
    ]);
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(junit_cases(&String::from_utf8(ok.stdout).unwrap()).len(), 2);
    let gone = run(&[
        "validate",
        "--dialect",
        "medusa",
        "--format",
        "junit",
        dir.join("a-valid.json").to_str().unwrap(),
        dir.join("gone.json").to_str().unwrap(),
    ]);
    assert_eq!(gone.status.code(), Some(2));
    let cases = junit_cases(&String::from_utf8(gone.stdout).unwrap());
    assert_eq!(cases[1].1.as_ref().unwrap().0, "unreadable");

    // A directory without *.json files is a usage error.
    let empty = temp_dir("validate-empty");
    let none = run(&["validate", "--dialect", "medusa", empty.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no *.json file"));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&empty);
}

#[test]
fn translate_a_directory_as_junit_and_as_json_lines() {
    let dir = medusa_dir("translate");
    let args = |format: &str| {
        run(&[
            "translate",
            "--from",
            "medusa",
            "--to",
            "microbase",
            "--id",
            "cus_1",
            "--format",
            format,
            dir.to_str().unwrap(),
        ])
    };
    let out = args("junit");
    assert_eq!(out.status.code(), Some(1));
    let cases = junit_cases(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(cases.len(), 4);
    assert_eq!(cases[0].1, None, "{cases:?}");
    assert!(cases[1].1.is_some() && cases[2].1.is_some(), "{cases:?}");
    // MicroBase has no phone: strict mode refuses the loss.
    let (kind, message) = cases[3].1.clone().unwrap();
    assert_eq!(kind, "untranslatable", "{message}");

    let out = args("json");
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[0]["output"]["email"], "ada@example.com");
    assert_eq!(lines[0]["output"]["id"], "cus_1");
    assert_eq!(lines[1]["ok"], false);
    assert!(lines[1]["problem"]["type"].is_string(), "{}", lines[1]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn completions_and_the_manual_page() {
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&run(&["completions", shell]));
        assert!(script.len() > 500, "{shell}: {script}");
        for word in ["dialectgate", "matrix", "validate", "--format"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let bad = run(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
    let man = stdout(&run(&["man"]));
    assert!(man.contains(".TH dialectgate"), "{man}");
    assert!(man.contains("matrix"), "{man}");
}

#[test]
fn translate_with_the_stored_customer_prints_what_the_gateway_would_send_after_reading_it() {
    let dir = temp_dir("current");
    let body = dir.join("body.json");
    std::fs::write(
        &body,
        r#"{"data": {"type": "customer", "email": "ada@new.example"}}"#,
    )
    .unwrap();
    // AximCommerce's "get customer" answer (docs/vendors/axim.md#retrieve).
    let current = dir.join("axim-customer.json");
    std::fs::write(
        &current,
        r#"{"success": true, "data": {"id": "cus_ada", "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"}}"#,
    )
    .unwrap();
    let args = |extra: &[&str]| {
        let mut a = vec![
            "translate",
            "--from",
            "elasticpath",
            "--to",
            "axim",
            "--id",
            "cus_ada",
        ];
        a.extend_from_slice(extra);
        a.push(body.to_str().unwrap());
        run(&a)
    };
    // Without it: Axim requires its names on every PUT, and the body has none.
    let refused = args(&[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("required"),
        "{refused:?}"
    );
    // With it: the stored names are filled in.
    let out = args(&["--current", current.to_str().unwrap()]);
    let sent: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        sent,
        serde_json::json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@new.example"})
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("filled"), "{out:?}");
    // A file that is neither the target's answer nor a canonical Customer is a setup error.
    std::fs::write(&current, r#"{"email": 5}"#).unwrap();
    assert_eq!(
        args(&["--current", current.to_str().unwrap()]).status.code(),
        Some(2)
    );

    // --overflow: Checkout Page's company name into Medusa's metadata.
    std::fs::write(&body, r#"{"companyName": "Acme"}"#).unwrap();
    let out = run(&[
        "translate",
        "--from",
        "checkoutpage",
        "--to",
        "medusa",
        "--id",
        "cus_ada",
        "--overflow",
        body.to_str().unwrap(),
    ]);
    let sent: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        sent,
        serde_json::json!({"metadata": {"dialectgate:/company/name": "Acme"}})
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
