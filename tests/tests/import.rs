//! `pronto import` of the Customer Support on Twitter layout into a Tansu broker process,
//! then `pronto replay`: the reply latencies of the report match those computed here
//! directly from the file's timestamps.

use pronto_e2e::{free_ports, run_pronto as pronto, start_broker};
use serde_json::Value;

// Hand-written in the public dataset's layout; ids and texts are our own. Four threads:
// a quick answer, a follow-up answered late, one never answered, and one with two customer
// messages before the first reply. A reply whose parent is missing starts a thread of its own.
const FILE: &str = "\
tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id
100,u1,True,Mon Oct 02 10:00:00 +0000 2017,@AcmeHelp where is my parcel,101,
101,AcmeHelp,False,Mon Oct 02 10:04:00 +0000 2017,@u1 Checking now ^JD,102,100.0
102,u1,True,Mon Oct 02 10:10:00 +0000 2017,@AcmeHelp any news?,103,101.0
103,AcmeHelp,False,Mon Oct 02 11:40:00 +0000 2017,@u1 It ships today,,102.0
200,u2,True,Mon Oct 02 12:00:00 +0000 2017,@AcmeHelp hello???,,
300,u3,True,Mon Oct 02 13:00:00 +0000 2017,@BetaCare my app crashes,,
301,u3,True,Mon Oct 02 13:02:00 +0000 2017,@BetaCare still crashing,302,300.0
302,BetaCare,False,Mon Oct 02 13:22:00 +0000 2017,@u3 Sorry! Try updating,303,301
303,u3,True,Mon Oct 02 13:30:00 +0000 2017,@BetaCare works thanks,,302
400,BetaCare,False,Mon Oct 02 14:00:00 +0000 2017,@u4 glad to help,,399.0
401,u5,True,not a date,@BetaCare ?,,
";

/// Seconds since midnight of a created_at such as `Mon Oct 02 10:04:00 +0000 2017`.
fn seconds(created_at: &str) -> Option<i64> {
    let hms: Vec<i64> = created_at
        .split(' ')
        .nth(3)?
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    Some(hms[0] * 3600 + hms[1] * 60 + hms[2])
}

/// First-reply and all reply latencies (ms), from the file: per thread, in time order, the
/// first customer tweet not yet answered waits until the brand's next tweet.
fn latencies_from_file() -> (Vec<i64>, Vec<i64>) {
    let mut tweets: Vec<(String, Option<String>, bool, i64)> = Vec::new();
    for line in FILE.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let Some(at) = seconds(f[3]) else { continue };
        let parent = Some(f[6].trim_end_matches(".0").to_string()).filter(|p| !p.is_empty());
        tweets.push((f[0].to_string(), parent, f[2] == "True", at * 1000));
    }
    let root = |id: &str| {
        let mut id = id.to_string();
        while let Some(p) = tweets
            .iter()
            .find(|t| t.0 == id)
            .and_then(|t| t.1.clone())
            .filter(|p| tweets.iter().any(|t| &t.0 == p))
        {
            id = p;
        }
        id
    };
    let mut threads: std::collections::BTreeMap<String, Vec<(i64, bool)>> = Default::default();
    for t in &tweets {
        threads.entry(root(&t.0)).or_default().push((t.3, t.2));
    }
    let (mut first, mut all) = (Vec::new(), Vec::new());
    for ts in threads.values_mut() {
        ts.sort();
        let (mut waiting, mut replied) = (None, false);
        for (at, inbound) in ts.iter() {
            if *inbound {
                waiting.get_or_insert(*at);
            } else if let Some(since) = waiting.take() {
                if !replied {
                    first.push(at - since);
                }
                all.push(at - since);
                replied = true;
            } else {
                replied = true;
            }
        }
    }
    (first, all)
}

fn nearest_rank(v: &[i64], p: usize) -> i64 {
    let mut s = v.to_vec();
    s.sort();
    s[(p * s.len()).div_ceil(100).max(1) - 1]
}

#[test]
fn imported_history_reports_the_latencies_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, brokers) = start_broker(dir.path());
    let file = dir.path().join("twcs.csv");
    std::fs::write(&file, FILE).unwrap();
    let path = file.to_str().unwrap();

    let (code, out, err) = pronto(&[
        "import",
        "--brokers",
        &brokers,
        "--partitions",
        "2",
        "--format",
        "twcs",
        "--file",
        path,
        "--tenant",
        "acme",
    ]);
    assert_eq!(code, 0, "{err}");
    // 10 tweets and a queue assignment per thread the brand answered (3 of 4).
    assert!(
        out.starts_with("imported 13 events in 4 conversations from 11 rows; 1 rows refused"),
        "{out}"
    );
    assert!(out.contains("row 12: created_at: 'not a date'"), "{out}");
    assert!(err.contains("publishing: 13/13 events"), "{err}");

    let (code, out, err) = pronto(&["replay", "--brokers", &brokers, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let total = &v["report"]["total"];
    let (first, all) = latencies_from_file();
    assert_eq!((first.len(), all.len()), (2, 3));
    for (stats, want) in [
        (&total["first_reply_calendar"], &first),
        (&total["reply_calendar"], &all),
    ] {
        assert_eq!(
            stats["count"].as_u64(),
            Some(want.len() as u64),
            "{stats} {v}"
        );
        for (key, p) in [("p50_ms", 50), ("p90_ms", 90), ("p99_ms", 99)] {
            assert_eq!(
                stats[key].as_i64(),
                Some(nearest_rank(want, p)),
                "{key}: {stats}"
            );
        }
        let mean = want.iter().sum::<i64>() / want.len() as i64;
        assert_eq!(stats["mean_ms"].as_i64(), Some(mean), "{stats}");
    }
    // Brands are queues.
    let (_, out, _) = pronto(&[
        "replay",
        "--brokers",
        &brokers,
        "--json",
        "--group-by",
        "queue",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let queues: Vec<&str> = v["report"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["keys"][0].as_str().unwrap())
        .collect();
    assert_eq!(queues, ["(none)", "AcmeHelp", "BetaCare"]);

    // A dry run publishes nothing; a missing file is exit 2.
    let (code, out, _) = pronto(&["import", "--dry-run", "--format", "twcs", "--file", path]);
    assert_eq!(code, 0);
    assert!(out.starts_with("checked 13 events"), "{out}");
    let nowhere = dir.path().join("absent.csv");
    let (code, _, err) = pronto(&[
        "import",
        "--brokers",
        &format!("127.0.0.1:{}", free_ports(1)[0]),
        "--format",
        "twcs",
        "--file",
        nowhere.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
}

/// A helpdesk export in a layout of its own, read through the example column mapping.
const HELPDESK: &str = "\
ticket;message_id;created;direction;from;agent_name;body;group;plan;prio;new_status
T-1;m1;02/03/2026 10:00;in;cust-1;;Il mio ordine è in ritardo;billing;gold;high;
T-1;m2;02/03/2026 10:20;out;a-7;Giulia;Controllo subito - Giulia;billing;gold;high;
T-1;m3;02/03/2026 10:30;state;a-7;;;billing;gold;high;risolto
T-2;m4;02/03/2026 10:00;in;cust-2;;Reso non arrivato;returns;;;
T-2;m5;02/03/2026 10:10;note;a-8;Marco;chiesto al magazzino;returns;;;
T-2;m6;02/03/2026 11:30;out;a-8;Marco;Rimborso fatto - Marco;returns;;;
T-3;m7;02/03/2026 25:00;in;cust-3;;?;returns;;;
";

#[test]
fn a_csv_export_imported_through_a_column_mapping_reports_its_latencies() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, brokers) = start_broker(dir.path());
    let file = dir.path().join("helpdesk.csv");
    std::fs::write(&file, HELPDESK).unwrap();
    let mapping = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/import-mapping.example.toml"
    );
    let (code, out, err) = pronto(&[
        "import",
        "--brokers",
        &brokers,
        "--format",
        "csv",
        "--mapping",
        mapping,
        "--file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    // Six rows, plus an assignment per ticket and a priority change on the first.
    assert!(
        out.starts_with("imported 9 events in 2 conversations from 7 rows; 1 rows refused"),
        "{out}"
    );
    assert!(
        out.contains("row 8: occurred_at (column 'created')"),
        "{out}"
    );

    let (code, out, err) = pronto(&[
        "replay",
        "--brokers",
        &brokers,
        "--json",
        "--group-by",
        "queue",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let first = &v["report"]["total"]["first_reply_calendar"];
    // 20 minutes on T-1; 90 on T-2, where the private note does not count as a reply.
    assert_eq!(first["count"].as_u64(), Some(2), "{v}");
    assert_eq!(first["p50_ms"].as_i64(), Some(20 * 60_000), "{first}");
    assert_eq!(first["p99_ms"].as_i64(), Some(90 * 60_000), "{first}");
    let queues: Vec<&str> = v["report"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["keys"][0].as_str().unwrap())
        .collect();
    assert_eq!(queues, ["billing", "returns"]);

    // A mapping that does not load is exit 2, naming the file and the line.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[columns]\nconversation_id = \"ticket\"\nwhen = \"created\"\n",
    )
    .unwrap();
    let (code, _, err) = pronto(&[
        "import",
        "--dry-run",
        "--format",
        "csv",
        "--mapping",
        bad.to_str().unwrap(),
        "--file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.toml: line 3, column 1: unknown field `when`"),
        "{err}"
    );
}
