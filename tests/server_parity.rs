//! End-to-end: the same scenario run twice with the real binary, once locally on one
//! ledger directory and once through `--server` on another ledger served by the real
//! `grant-ledger serve`. The CLI contract promises the same output in every format, the
//! same exit codes and the same sentences: every stdout, stderr and exit code is compared
//! after masking only what must differ between two ledgers (event ids, clocks, hashes,
//! tokens, temporary paths).

mod server_common;

use server_common::{bin, Dir, Run, Server, ID};

/// Who runs a step: the token's name remotely, the same name as `--actor` locally.
/// And the exit code the scenario expects of it, so that a step that went wrong the same
/// way on both sides is caught too.
type Step = (i32, &'static str, Vec<String>);

fn step(code: i32, actor: &'static str, line: &str) -> Step {
    (code, actor, line.split(' ').map(str::to_string).collect())
}

fn step_args(code: i32, actor: &'static str, args: &[&str]) -> Step {
    (code, actor, args.iter().map(|a| a.to_string()).collect())
}

/// Matches `pattern` at `i`: `d` a digit, `h` a hex digit, anything else itself.
fn shape(b: &[u8], i: usize, pattern: &str) -> bool {
    let p = pattern.as_bytes();
    i + p.len() <= b.len()
        && p.iter().zip(&b[i..]).all(|(p, c)| match p {
            b'd' => c.is_ascii_digit(),
            b'h' => c.is_ascii_hexdigit(),
            lit => lit == c,
        })
}

/// The length of the volatile token at `i`, and what stands in for it.
fn volatile_at(b: &[u8], i: usize) -> Option<(usize, &'static str)> {
    let uuid = "hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh";
    if shape(b, i, uuid) && !b.get(i + uuid.len()).is_some_and(u8::is_ascii_hexdigit) {
        return Some((uuid.len(), "<uuid>"));
    }
    let utc = "dddd-dd-dd dd:dd:dd UTC";
    if shape(b, i, utc) {
        return Some((utc.len(), "<time>"));
    }
    if shape(b, i, "dddd-dd-ddTdd:dd:dd") {
        let mut n = 19;
        if b.get(i + n) == Some(&b'.') {
            n += 1;
            while b.get(i + n).is_some_and(u8::is_ascii_digit) {
                n += 1;
            }
        }
        if b.get(i + n) == Some(&b'Z') {
            n += 1;
        } else if shape(b, i + n, "+dd:dd") || shape(b, i + n, "-dd:dd") {
            n += 6;
        }
        return Some((n, "<time>"));
    }
    let run = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let starts = i == 0 || !b[i - 1].is_ascii_hexdigit();
    if starts && run == 64 {
        return Some((64, "<hex>"));
    }
    None
}

/// `text` with every volatile part and each of `paths` replaced by a marker.
fn mask(text: &str, paths: &[String]) -> String {
    let mut text = text.to_string();
    for path in paths {
        text = text.replace(path.as_str(), "<tmp>");
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if let Some((n, marker)) = volatile_at(b, i) {
            out.push_str(marker);
            i += n;
            continue;
        }
        let c = text[i..].chars().next().expect("a char");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

#[test]
fn masking_hides_only_the_volatile_parts() {
    let paths = vec!["/tmp/.tmpAbC".to_string()];
    let text = "01a23523-0d20-770c-9b10-1c6381f8db7d at 2026-12-02T05:03:39.304555619Z, \
                2026-12-02 05:03:39 UTC, glt_ddb8e0fa3e742465cf47978d836492298c4f059e1a97353d2f85ff26b11c411d \
                in /tmp/.tmpAbC/ledger: £260,600.00 on 2024-08-27 position 12";
    assert_eq!(
        mask(text, &paths),
        "<uuid> at <time>, <time>, glt_<hex> in <tmp>/ledger: £260,600.00 on 2024-08-27 position 12"
    );
}

/// The scenario: access for three more people, an import, payments, spends (one refused
/// for overspend, one keyed and repeated in every format), a recovery, reversals, an
/// import of spends, errors of each kind, and every query in table, json and csv.
fn scenario(spends_csv: &str, tomls: &[String; 5]) -> Vec<Step> {
    let mut steps = vec![
        step(1, "admin", "access grant --name early --role region:south-west"),
        step(0, "admin", "determination import --builtin 31/7421"),
        step(0, "admin", "--format json determination import --builtin 31/7421"),
        step(1, "admin", "determination import --builtin 99/9999"),
        step(0, "admin", "access grant --name finance --role finance"),
        step(0, "admin", "--format json access grant --name sw --role region:south-west"),
        step(0, "admin", "--format csv access grant --name auditor --role auditor"),
        step(1, "admin", "access grant --name finance --role reader"),
        step(1, "admin", "access grant --name nobody --role region:atlantis"),
        step(0, "admin", "access grant --name leaver --role reader"),
        step(0, "finance", "--format json pay 31/7421 --region south-west --amount 260600 --date 2024-08-27"),
        step(0, "finance", "pay 31/7421 --region London --amount £318,000 --date 2024-08-27 --reference BACS-1"),
        step(0, "finance", "--format csv pay 31/7421 --region north-east --amount 239600 --date 2024-08-28 --key pay-ne"),
        step(0, "finance", "pay 31/7421 --region north-east --amount 239600 --date 2024-08-28 --key pay-ne"),
        step(1, "finance", "pay 31/7421 --region east-midlands --amount 233200 --date 2024-08-31"),
        step(1, "finance", "pay 31/7421 --region east-midlands --amount 1 --date 2024-08-20"),
        step(2, "finance", "pay 31/7421 --region east-midlands --amount 12.345 --date 2024-08-20"),
        step(0, "sw", "spend 31/7421 --region south-west --amount 100 --date 2024-09-01 --purpose data-coordinator"),
        step(1, "sw", "spend 31/7421 --region south-west --amount 300000 --date 2024-09-01 --purpose data-coordinator"),
        step(0, "sw", "--format json spend 31/7421 --region south-west --amount 250 --date 2024-09-02 --purpose data-coordinator --key k1"),
        step(0, "sw", "spend 31/7421 --region south-west --amount 250 --date 2024-09-02 --purpose data-coordinator --key k1"),
        step(0, "sw", "--format json spend 31/7421 --region south-west --amount 250 --date 2024-09-02 --purpose data-coordinator --key k1"),
        step(0, "sw", "--format csv spend 31/7421 --region south-west --amount 250 --date 2024-09-02 --purpose data-coordinator --key k1"),
        step(1, "sw", "spend 31/7421 --region south-west --amount 251 --date 2024-09-02 --purpose data-coordinator --key k1"),
        step(1, "sw", "spend 31/7421 --region south-west --amount 1 --date 2024-09-02 --purpose biscuits"),
        step(1, "sw", "spend 31/7421 --region south-west --amount 1 --date 2026-09-02 --purpose data-coordinator"),
        step(2, "sw", "spend 31/7421 --region south-west --amount 1 --date 2024-02-30 --purpose data-coordinator"),
        step_args(0, "sw", &["spend", ID, "--region", "South West", "--amount", "1", "--date", "2024-09-03", "--purpose", "self-assessment", "--authority", "Wiltshire", "--description", "a day of training"]),
        step(1, "sw", "spend 31/7421 --region south-west --amount 1 --date 2024-09-03 --purpose data-coordinator --authority Camden"),
        step_args(0, "sw", &["--format", "json", "spend-import", spends_csv]),
        step(2, "sw", "spend-import /nonexistent/spends.csv"),
        step_args(0, "finance", &["--format", "csv", "recover", ID, "--region", "south-west", "--amount", "50", "--date", "2024-09-03", "--reason", "not needed"]),
        step_args(1, "finance", &["recover", ID, "--region", "south-west", "--amount", "999999", "--date", "2024-09-03", "--reason", "too much"]),
        step_args(0, "finance", &["reverse", "10", "--reason", "entered twice"]),
        step_args(1, "finance", &["--format", "json", "reverse", "10", "--reason", "entered twice"]),
        step_args(1, "finance", &["reverse", "999", "--reason", "typo"]),
        step_args(1, "finance", &["reverse", "7", "--reason", "spent against", "--date", "2024-09-04"]),
        // Determination files, sent as TOML: a new one, one that changes 31/7421, a broken one.
        step_args(0, "admin", &["--format", "json", "determination", "import", &tomls[0]]),
        step_args(0, "admin", &["determination", "import", &tomls[0]]),
        step_args(1, "admin", &["determination", "import", &tomls[1]]),
        step_args(2, "admin", &["determination", "import", &tomls[2]]),
        // A spend import from standard input (the input is STDIN_CSV), then again: the
        // keyed row is skipped and the other recorded anew, both ways alike.
        step(0, "sw", "--format json spend-import -"),
        step(0, "sw", "spend-import -"),
        // A determination's life: a schedule, its last instalment, a variation, a withdrawal.
        step_args(0, "admin", &["determination", "import", &tomls[3]]),
        step(0, "finance", "pay 31/9002 --region london --amount 159000 --date 2024-08-20"),
        step(1, "finance", "pay 31/9002 --region london --amount 1000 --date 2024-08-21"),
        step(1, "finance", "pay 31/9002 --region north-east --amount 200000 --date 2024-08-21"),
        step_args(0, "admin", &["--format", "json", "determination", "vary", "31/9002", &tomls[4], "--reason", "letter of 1 September", "--date", "2024-09-01"]),
        step_args(1, "admin", &["determination", "vary", "31/9002", &tomls[4], "--reason", "again", "--date", "2024-09-01"]),
        step(0, "finance", "pay 31/9002 --region london --amount 141000 --date 2024-10-01"),
        step_args(0, "admin", &["determination", "withdraw", "31/9999", "--reason", "superseded", "--date", "2024-09-01"]),
        step_args(1, "admin", &["--format", "json", "determination", "withdraw", "31/9999", "--reason", "again", "--date", "2024-09-02"]),
        step(1, "finance", "pay 31/9999 --region london --amount 318000 --date 2024-08-20"),
    ];
    let queries = [
        "balances",
        "balances 31/7421 --region south-west --as-of 2024-09-02",
        "balances --region atlantis",
        "balances --as-of 2024-02-30",
        "deadlines --today 2024-08-28",
        "deadlines 31/7421 --today 2024-09-02",
        "spend-report 31/7421",
        "spend-report 31/7421 --region south-west",
        "spend-report 99/1",
        "history",
        "history --type FundsSpent --limit 2",
        "history --after 5 --limit 3",
        "history --recorded-by sw",
        "history --recorded-by nobody",
        "history --region south-west --since 2024-09-01 --until 2024-09-02",
        "history --since 2024-09-05 --until 2024-09-01",
        "history --type Nonsense",
        "verify",
        "determination list",
        "determination show 31/7421",
        "determination show 99/9",
        "determination check 31/7421",
        "determination check 31/7421 --workings",
        "determination check 31/7421 --strict",
        "deadlines 31/9002 --today 2024-08-25",
        "balances 31/9002 --as-of 2024-08-31",
        "spend-report 31/9002 --region london --as-of 2024-08-31",
        "determination show 31/9002",
        "determination show 31/9999",
    ];
    for format in ["table", "json", "csv"] {
        for query in queries {
            let code = match query {
                q if q.contains("atlantis") || q.contains("99/") || q.contains("--strict") => 1,
                q if q.contains("02-30")
                    || q.contains("Nonsense")
                    || q.contains("--since 2024-09-05") =>
                {
                    2
                }
                _ => 0,
            };
            steps.push(step(code, "auditor", &format!("--format {format} {query}")));
        }
        steps.push(step(0, "admin", &format!("--format {format} access list")));
    }
    steps.push(step(0, "admin", "access revoke leaver"));
    steps.push(step(1, "admin", "access revoke leaver"));
    steps.push(step(1, "admin", "access revoke nobody"));
    steps.push(step(0, "admin", "--format json access list"));
    steps
}

/// What a step reading standard input (`spend-import -`) is given.
const STDIN_CSV: &str =
    "determination,region,amount,date,purpose,authority,description,reference,key\n\
                         31/7421,south-west,3,2024-09-07,data-coordinator,,,,stdin-1\n\
                         31/7421,south-west,4,2024-09-07,data-coordinator,,,,\n";

/// Runs `cmd`, with [`STDIN_CSV`] on standard input when `args` read it.
fn fed(cmd: &mut std::process::Command, args: &[String]) -> Run {
    use std::io::Write;
    if !args.iter().any(|a| a == "-") {
        return Run::of(cmd);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(STDIN_CSV.as_bytes())
        .expect("feed stdin");
    let output = child.wait_with_output().expect("binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Whether a step only reads (its command words, flags and their values left out).
fn is_query(args: &[String]) -> bool {
    let mut words = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--format" {
            args.next();
        } else if !arg.starts_with('-') {
            words.push(arg.as_str());
        }
    }
    matches!(
        words.as_slice(),
        [
            "balances" | "deadlines" | "spend-report" | "history" | "verify",
            ..
        ] | ["determination", "list" | "show" | "check", ..]
            | ["access", "list", ..]
    )
}

#[test]
fn the_same_scenario_prints_the_same_locally_and_through_the_server() {
    let local = Dir::new();
    let remote = Dir::new();
    let csv = "determination,region,amount,date,purpose,authority,description,reference,key\n\
               31/7421,south-west,10,2024-09-05,data-coordinator,,,,row-1\n\
               31/7421,South West,20.50,2024-09-06,self-assessment,Wiltshire,training,INV-2,\n";
    let local_csv = local.file("spends.csv", csv.as_bytes());
    let remote_csv = remote.file("spends.csv", csv.as_bytes());
    // The first admin is made the same way on both: locally on the directory.
    local.grant_local("root", "admin", "admin");
    let admin = remote.grant_local("root", "admin", "admin");
    let server: Server = remote.serve();
    let mut tokens = std::collections::HashMap::new();
    tokens.insert("admin", admin);

    let mut paths: Vec<String> = Vec::new();
    for dir in [&local, &remote] {
        paths.push(dir.path().display().to_string());
        if let Ok(canonical) = dir.path().canonicalize() {
            paths.push(canonical.display().to_string());
        }
    }
    // Longest first, so that a path is never replaced only in part.
    paths.sort_by_key(|p| std::cmp::Reverse(p.len()));

    let toml = grant_ledger_domain::builtin_toml(ID).expect("builtin");
    let tomls = |dir: &Dir| {
        [
            (
                "new.toml",
                toml.replace("id = \"31/7421\"", "id = \"31/9999\""),
            ),
            ("changed.toml", toml.replace("233200.00", "233300.00")),
            (
                "broken.toml",
                toml.replace("payment_deadline = 2024-08-30\n", ""),
            ),
            (
                "scheduled.toml",
                toml.replace("id = \"31/7421\"", "id = \"31/9002\"")
                    .replace("instalments = 1", "instalments = 2")
                    .replace("payment_deadline = 2024-08-30\n", "")
                    + "\n[[instalment]]\ndue = 2024-08-30\nshare = \"50%\"\n\n[[instalment]]\ndue = 2024-10-31\nshare = \"50%\"\n",
            ),
            (
                "variation.toml",
                "[[allocation]]\nregion = \"London\"\namount = \"300000\"\n".to_string(),
            ),
        ]
        .map(|(name, text)| {
            assert_ne!(text, toml, "{name} is the built-in");
            dir.file(name, text.as_bytes())
        })
    };
    let local_steps = scenario(&local_csv, &tomls(&local));
    let remote_steps = scenario(&remote_csv, &tomls(&remote));
    let mut differences = Vec::new();
    for ((expected, actor, local_args), (_, _, remote_args)) in
        local_steps.iter().zip(&remote_steps)
    {
        // A token the remote run never got (its grant differed): the difference is
        // reported with that grant, and this step runs without a valid token.
        let token = tokens
            .get(actor)
            .cloned()
            .unwrap_or_else(|| "glt_missing".to_string());
        // Locally the actor is named only where it is recorded: a query given --actor says
        // that it ignores it, and remotely the token names the actor.
        let actor_args: &[&str] = if is_query(local_args) {
            &[]
        } else {
            &["--actor", actor]
        };
        // Both sides at once: the two ledgers share nothing.
        let (here, there) = std::thread::scope(|scope| {
            let here = scope.spawn(|| {
                fed(
                    bin()
                        .arg("--ledger")
                        .arg(local.ledger())
                        .args(actor_args)
                        .args(local_args),
                    local_args,
                )
            });
            let there = fed(
                bin()
                    .args(["--server", &server.url, "--token", &token])
                    .args(remote_args),
                remote_args,
            );
            (here.join().expect("local run"), there)
        });
        if here.code != *expected {
            differences.push(format!(
                "{actor}: {}\n  expected exit {expected}, got {here:?}",
                local_args.join(" ")
            ));
        }
        // Keep the tokens that the grants print, for the steps that follow.
        if remote_args.iter().any(|a| a == "grant") && there.code == 0 {
            let name = remote_args
                .iter()
                .skip_while(|a| *a != "--name")
                .nth(1)
                .expect("--name")
                .clone();
            let token = there
                .stdout
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .find(|w| w.starts_with("glt_"))
                .unwrap_or_else(|| panic!("no token printed: {there:?}"))
                .to_string();
            let name: &'static str = Box::leak(name.into_boxed_str());
            tokens.insert(name, token);
        }
        assert!(!here.stderr.contains("panicked"), "{here:?}");
        assert!(!there.stderr.contains("panicked"), "{there:?}");
        let masked = |r: &Run| Run {
            code: r.code,
            stdout: mask(&r.stdout, &paths),
            stderr: mask(&r.stderr, &paths),
        };
        let (here, there) = (masked(&here), masked(&there));
        if here != there {
            differences.push(format!(
                "{actor}: {}\n  local:  exit {}\n    stdout: {:?}\n    stderr: {:?}\n  remote: exit {}\n    stdout: {:?}\n    stderr: {:?}",
                local_args.join(" "),
                here.code,
                here.stdout,
                here.stderr,
                there.code,
                there.stdout,
                there.stderr
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} steps differ between the local and the remote run:\n\n{}",
        differences.len(),
        local_steps.len(),
        differences.join("\n\n")
    );
}
