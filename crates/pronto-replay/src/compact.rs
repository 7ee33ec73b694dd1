//! Reading a [`RawEvent`] written as Pronto writes events: compact JSON, no space between
//! tokens, each key once. An export file holds hundreds of thousands of such lines, and reading
//! them field by field here takes a fraction of what the general deserializer takes (it works
//! through every form JSON allows, and through serde's visitors for each field).
//!
//! Anything else (a space, an unknown or repeated key, a number that is not a plain integer, a
//! value of the wrong kind) is declined, never guessed at: the caller then reads the text with
//! `serde_json`, which accepts what is valid and names what is not. So this reader accepts
//! nothing that `serde_json` would refuse, and reads what it accepts as `serde_json` does (a
//! property test holds it to that, over generated and spoilt lines), but for one thing: an
//! instant written as Pronto writes instants is read here to its seconds and nanoseconds
//! ([`crate::instant`]), which validation takes as it takes the written form.
//!
//! Only an offline replay reads this many events from text; every other face reads JSON with
//! `serde_json` and instants with chrono, through the domain.

use crate::instant::canonical_millis;
use pronto_domain::{
    EventTime, Name, RawAssignment, RawCustomerMessage, RawEvent, RawMerged, RawPriority, RawReply,
    RawStatus, RawTime,
};
use std::borrow::Cow;

/// The event written at the start of `text` and the text after it, when the event is written
/// as Pronto writes events; `None` when it is written any other way, valid or not (read it
/// with `serde_json` then).
pub fn read_event(text: &str) -> Option<(RawEvent, &str)> {
    let mut r = Reader { text, at: 0 };
    let event = r.event()?;
    Some((event, &text[r.at..]))
}

/// An event line as `pronto export` writes it (`{"event":{...},"partition":N}`, compact, in
/// that order): its partition and event; `None` for a line written any other way, which
/// serde_json then reads.
pub fn read_export_line(line: &str) -> Option<(i32, RawEvent)> {
    let rest = line.strip_prefix(r#"{"event":"#)?;
    let (event, rest) = read_event(rest)?;
    let mut r = Reader {
        text: rest.strip_prefix(r#","partition":"#)?,
        at: 0,
    };
    let partition = i32::try_from(r.integer()?).ok()?;
    (&r.text[r.at..] == "}").then_some((partition, event))
}

/// Where the first byte of `bytes` that ends a plain run of a string lies (a quote, a
/// backslash or a control character), if any. Looked for eight bytes at a time: for each of
/// the three, a word whose byte is zero where the byte matches; the lowest bit the usual
/// zero-byte test sets marks the first such byte exactly (only bits above it can be set by a
/// borrow).
fn special_at(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let v = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let quote = zero_byte(v ^ (ONES * u64::from(b'"')));
        let backslash = zero_byte(v ^ (ONES * u64::from(b'\\')));
        // Below 0x20: subtracting 0x20 from each byte borrows, and the byte's own top bit
        // was clear.
        let control = v.wrapping_sub(ONES * 0x20) & !v & HIGH;
        let found = quote | backslash | control;
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let rest = words.remainder();
    rest.iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|i| at + i)
}

/// A place in the text being read.
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

/// What an object's key-by-key reading does with one key: reads its value into the object and
/// returns the key's place among the object's keys, or declines (an unknown key, a value of
/// the wrong kind).
type Field<'a, T> = fn(&mut Reader<'a>, &mut T, &str) -> Option<u32>;

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Steps over `literal`, or declines.
    fn expect(&mut self, literal: &str) -> Option<()> {
        self.text[self.at..].starts_with(literal).then(|| {
            self.at += literal.len();
        })
    }

    /// A string. One with escapes is read by `serde_json` (they are rare, and it knows every
    /// form they take); one with a control character in it, which JSON forbids, is declined.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let bytes = self.text.as_bytes();
        if bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let start = self.at;
        let mut i = start + 1 + special_at(&bytes[start + 1..])?;
        match bytes[i] {
            b'"' => {
                self.at = i + 1;
                return Some(Cow::Borrowed(&self.text[start + 1..i]));
            }
            b'\\' => {}
            // A control character, which JSON forbids in a string.
            _ => return None,
        }
        // Escaped: find the closing quote, stepping over whatever each backslash escapes.
        loop {
            match *bytes.get(i)? {
                b'"' => break,
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        let quoted = self.text.get(start..=i)?;
        let value: String = serde_json::from_str(quoted).ok()?;
        self.at = i + 1;
        Some(Cow::Owned(value))
    }

    /// `null`: `true` and stepped over; else `false`, nothing read.
    fn null(&mut self) -> bool {
        self.expect("null").is_some()
    }

    fn optional_name(&mut self) -> Option<Option<Name>> {
        if self.null() {
            return Some(None);
        }
        self.string().map(|s| Some(Name::from(s.as_ref())))
    }

    fn optional_string(&mut self) -> Option<Option<String>> {
        if self.null() {
            return Some(None);
        }
        self.string().map(|s| Some(s.into_owned()))
    }

    fn optional_time(&mut self) -> Option<Option<RawTime>> {
        Some(
            self.optional_name()?
                .map(|text| match canonical_millis(&text) {
                    Some(ms) => {
                        let (seconds, nanos) = EventTime(ms).to_parts();
                        RawTime::Parts { seconds, nanos }
                    }
                    None => RawTime::Rfc3339(text),
                }),
        )
    }

    /// An integer written plainly: an optional minus, then digits without a leading zero.
    fn integer(&mut self) -> Option<i64> {
        let bytes = self.text.as_bytes();
        let negative = bytes.get(self.at) == Some(&b'-');
        let start = self.at + usize::from(negative);
        let digits = bytes[start.min(bytes.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        // Up to 18 digits cannot overflow; "-0" and "01" are left to serde_json.
        if digits == 0 || digits > 18 || (bytes[start] == b'0' && (digits > 1 || negative)) {
            return None;
        }
        // A fraction or an exponent makes it a float.
        if matches!(bytes.get(start + digits), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let magnitude: i64 = self.text[start..start + digits].parse().ok()?;
        self.at = start + digits;
        Some(if negative { -magnitude } else { magnitude })
    }

    /// An object whose keys `field` reads, each at most once: serde refuses a repeated key,
    /// so it is declined here.
    fn object<T: Default>(&mut self, field: Field<'a, T>) -> Option<T> {
        self.expect("{")?;
        let mut value = T::default();
        let mut seen = 0u32;
        if self.expect("}").is_some() {
            return Some(value);
        }
        loop {
            let key = self.string()?;
            self.expect(":")?;
            let bit = 1u32 << field(self, &mut value, &key)?;
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(value);
                }
                _ => return None,
            }
        }
    }

    /// An optional nested object.
    fn optional_object<T: Default>(&mut self, field: Field<'a, T>) -> Option<Option<T>> {
        if self.null() {
            return Some(None);
        }
        self.object(field).map(Some)
    }

    fn event(&mut self) -> Option<RawEvent> {
        self.object(|r, e: &mut RawEvent, key| {
            Some(match key {
                "event_id" => {
                    e.event_id = r.optional_name()?;
                    0
                }
                "tenant" => {
                    e.tenant = r.optional_name()?;
                    1
                }
                "conversation_id" => {
                    e.conversation_id = r.optional_name()?;
                    2
                }
                "occurred_at" => {
                    e.occurred_at = r.optional_time()?;
                    3
                }
                "source" => {
                    e.source = r.optional_name()?;
                    4
                }
                "schema_version" => {
                    e.schema_version = if r.null() {
                        None
                    } else {
                        Some(u32::try_from(r.integer()?).ok()?)
                    };
                    5
                }
                "channel" => {
                    e.channel = r.optional_name()?;
                    6
                }
                "customer_message" => {
                    e.customer_message = r.optional_object(message)?;
                    7
                }
                "reply_sent" => {
                    e.reply_sent = r.optional_object(reply)?;
                    8
                }
                "status_changed" => {
                    e.status_changed = r.optional_object(|r, s: &mut RawStatus, key| {
                        (key == "status").then_some(())?;
                        s.status = r.optional_name()?;
                        Some(0)
                    })?;
                    9
                }
                "assignment_changed" => {
                    e.assignment_changed = r.optional_object(assignment)?;
                    10
                }
                "priority_changed" => {
                    e.priority_changed = r.optional_object(|r, p: &mut RawPriority, key| {
                        (key == "priority").then_some(())?;
                        p.priority = r.optional_name()?;
                        Some(0)
                    })?;
                    11
                }
                "merged" => {
                    e.merged = r.optional_object(merged)?;
                    12
                }
                _ => return None,
            })
        })
    }
}

fn message<'a>(r: &mut Reader<'a>, m: &mut RawCustomerMessage, key: &str) -> Option<u32> {
    Some(match key {
        "text" => {
            m.text = r.optional_string()?;
            0
        }
        "customer_id" => {
            m.customer_id = r.optional_name()?;
            1
        }
        "customer_tier" => {
            m.customer_tier = r.optional_name()?;
            2
        }
        _ => return None,
    })
}

fn reply<'a>(r: &mut Reader<'a>, m: &mut RawReply, key: &str) -> Option<u32> {
    Some(match key {
        "text" => {
            m.text = r.optional_string()?;
            0
        }
        "author_kind" => {
            m.author_kind = r.optional_name()?;
            1
        }
        "visibility" => {
            m.visibility = r.optional_name()?;
            2
        }
        "agent_id" => {
            m.agent_id = r.optional_name()?;
            3
        }
        "agent_display_name" => {
            m.agent_display_name = r.optional_string()?;
            4
        }
        _ => return None,
    })
}

fn assignment<'a>(r: &mut Reader<'a>, m: &mut RawAssignment, key: &str) -> Option<u32> {
    Some(match key {
        "queue" => {
            m.queue = r.optional_name()?;
            0
        }
        "agent_id" => {
            m.agent_id = r.optional_name()?;
            1
        }
        _ => return None,
    })
}

fn merged<'a>(r: &mut Reader<'a>, m: &mut RawMerged, key: &str) -> Option<u32> {
    Some(match key {
        "from" => {
            m.from = r.optional_name()?;
            0
        }
        "waiting_since" => {
            m.waiting_since = r.optional_time()?;
            1
        }
        "waiting_event_id" => {
            m.waiting_event_id = r.optional_name()?;
            2
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    /// The keys of each object, as [`RawEvent`] and its parts name their fields.
    const EVENT_KEYS: &[&str] = &[
        "event_id",
        "tenant",
        "conversation_id",
        "occurred_at",
        "source",
        "schema_version",
        "channel",
        "customer_message",
        "reply_sent",
        "status_changed",
        "assignment_changed",
        "priority_changed",
        "merged",
    ];
    const MESSAGE_KEYS: &[&str] = &["text", "customer_id", "customer_tier"];
    const REPLY_KEYS: &[&str] = &[
        "text",
        "author_kind",
        "visibility",
        "agent_id",
        "agent_display_name",
    ];
    const MERGED_KEYS: &[&str] = &["from", "waiting_since", "waiting_event_id"];

    #[test]
    fn the_end_of_a_plain_run_is_found_wherever_it_lies() {
        for len in 0..40 {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                for at in 0..len {
                    // Bytes just above and below the special ones, and multi-byte letters.
                    let mut bytes: Vec<u8> = "é ! # [ ] ~ 0 a"
                        .bytes()
                        .cycle()
                        .take(len)
                        .chain([b'x'; 8])
                        .collect();
                    bytes[at] = special;
                    assert_eq!(special_at(&bytes[..len]), Some(at), "{len} {at}");
                    if at + 1 < len {
                        bytes[at + 1] = b'"';
                        assert_eq!(special_at(&bytes[..len]), Some(at));
                    }
                }
                let plain: Vec<u8> = "é ! # [ ] ~ 0 a".bytes().cycle().take(len).collect();
                assert_eq!(special_at(&plain), None);
            }
        }
    }

    /// What serde_json reads from `text`, if it reads an event, with each instant written as
    /// Pronto writes instants read to its seconds and nanoseconds by chrono (and written back
    /// the same way by the domain: so the form is known to be Pronto's).
    fn by_serde(text: &str) -> Option<RawEvent> {
        let read = |t: RawTime| match &t {
            RawTime::Rfc3339(text) => chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|d| EventTime(d.timestamp_millis()))
                .filter(|at| at.to_rfc3339() == text.as_str())
                .map_or(t, |at| {
                    let (seconds, nanos) = at.to_parts();
                    RawTime::Parts { seconds, nanos }
                }),
            RawTime::Parts { .. } => t,
        };
        let mut e: RawEvent = serde_json::from_str(text).ok()?;
        e.occurred_at = e.occurred_at.map(read);
        if let Some(m) = e.merged.as_mut() {
            m.waiting_since = m.waiting_since.take().map(read);
        }
        Some(e)
    }

    #[test]
    fn instants_in_pronto_form_are_read_to_their_parts_and_others_left_as_written() {
        let line = r#"{"merged":{"from":"c0","waiting_since":"2026-03-02T08:00:01+01:00"},"occurred_at":"2026-03-02T08:00:01.029Z"}"#;
        let (event, _) = read_event(line).unwrap();
        let at = EventTime::parse_rfc3339("2026-03-02T08:00:01.029Z").unwrap();
        let (seconds, nanos) = at.to_parts();
        assert_eq!(event.occurred_at, Some(RawTime::Parts { seconds, nanos }));
        assert_eq!(
            event.merged.unwrap().waiting_since,
            Some(RawTime::Rfc3339("2026-03-02T08:00:01+01:00".into()))
        );
        // Out of range in Pronto's shape: left as written, for validation to name.
        let (event, _) = read_event(r#"{"occurred_at":"2026-13-02T08:00:01.029Z"}"#).unwrap();
        assert_eq!(
            event.occurred_at,
            Some(RawTime::Rfc3339("2026-13-02T08:00:01.029Z".into()))
        );
    }

    #[test]
    fn an_event_as_pronto_writes_it_is_read_as_serde_reads_it() {
        let line = r#"{"channel":"email","conversation_id":"conv-1","customer_message":{"customer_id":"cust-1","customer_tier":null,"text":"Where is my \"order\"?\nThanks"},"event_id":"conv-1-e1","occurred_at":"2026-03-02T08:00:01.029Z","schema_version":1,"source":"pronto-sim","tenant":"acme"},"partition":3}"#;
        let (event, rest) = read_event(line).unwrap();
        assert_eq!(rest, r#","partition":3}"#);
        assert_eq!(
            Some(&event),
            by_serde(&line[..line.len() - rest.len()]).as_ref()
        );
        let m = event.customer_message.unwrap();
        assert_eq!(m.text.as_deref(), Some("Where is my \"order\"?\nThanks"));
        assert_eq!(m.customer_tier, None);
        assert_eq!(event.schema_version, Some(1));
    }

    #[test]
    fn anything_written_otherwise_is_declined() {
        for text in [
            // A space between tokens, a key twice, a key of no event, a float, a leading
            // zero, a value of the wrong kind, a control character, no closing brace.
            r#"{ "tenant":"acme"}"#,
            r#"{"tenant":"acme","tenant":"beta"}"#,
            r#"{"tenant":"acme","colour":"red"}"#,
            r#"{"schema_version":1.0}"#,
            r#"{"schema_version":01}"#,
            r#"{"schema_version":-1}"#,
            r#"{"schema_version":4294967296}"#,
            r#"{"tenant":7}"#,
            r#"{"customer_message":"hello"}"#,
            "{\"tenant\":\"ac\u{1}me\"}",
            r#"{"tenant":"acme""#,
            r#"{"tenant":"acme",}"#,
            r#"{"tenant":"bad \q escape"}"#,
        ] {
            assert!(read_event(text).is_none(), "{text}");
        }
        // Each is valid JSON here only where serde_json reads it too: none is an event
        // serde would take but for the first (a space), which it reads the same.
        assert!(by_serde(r#"{ "tenant":"acme"}"#).is_some());
    }

    /// A value for a field that takes a string: mostly plain, sometimes with characters JSON
    /// escapes, sometimes null, sometimes of the wrong kind.
    fn string_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            6 => "[a-zA-Z0-9 #?,.@:-]{0,30}".prop_map(Value::from),
            // Instants of the years 0001 to 9999 as Pronto writes them.
            2 => (-62_135_596_800_000i64..253_402_300_800_000i64)
                .prop_map(|ms| Value::from(EventTime(ms).to_rfc3339())),
            2 => any::<String>().prop_map(Value::from),
            1 => Just(Value::Null),
            1 => prop_oneof![Just(json!(7)), Just(json!(true)), Just(json!(["a"])), Just(json!({}))],
        ]
    }

    /// An object of some of `keys`, each with a string value.
    fn object_of(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
        proptest::collection::vec((0..keys.len(), string_value()), 0..keys.len() + 1).prop_map(
            move |fields| {
                let map: Map<String, Value> = fields
                    .into_iter()
                    .map(|(k, v)| (keys[k].to_string(), v))
                    .collect();
                Value::Object(map)
            },
        )
    }

    fn nested() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => object_of(MESSAGE_KEYS),
            4 => object_of(REPLY_KEYS),
            1 => object_of(&["status"]),
            1 => object_of(&["queue", "agent_id"]),
            1 => object_of(&["priority"]),
            1 => object_of(MERGED_KEYS),
            1 => Just(Value::Null),
            1 => Just(json!("not an object")),
        ]
    }

    /// An event's JSON: some of its keys, each with a value of its kind or not.
    fn event_value() -> impl Strategy<Value = Value> {
        let flat = proptest::collection::vec((0..7usize, string_value()), 0..8);
        let version = prop_oneof![
            Just(json!(1)),
            Just(Value::Null),
            (0u64..=u64::from(u32::MAX) + 10).prop_map(Value::from),
            Just(json!(-3)),
            Just(json!(1.5)),
        ];
        let payloads = proptest::collection::vec((7..EVENT_KEYS.len(), nested()), 0..3);
        (flat, proptest::option::of(version), payloads).prop_map(|(flat, version, payloads)| {
            let mut map = Map::new();
            for (k, v) in flat.into_iter().chain(payloads) {
                // Flat keys other than the version take strings; keys 7 on take objects.
                let key = if k == 5 { "channel" } else { EVENT_KEYS[k] };
                map.insert(key.to_string(), v);
            }
            if let Some(v) = version {
                map.insert("schema_version".into(), v);
            }
            Value::Object(map)
        })
    }

    /// Spoils `text` at `at` (a fraction of its length): takes characters out, puts one of
    /// JSON's own in, or repeats a stretch.
    fn spoil(text: &str, how: usize, at: f64, what: char) -> String {
        let mut at = (text.len() as f64 * at) as usize;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mut out = text.to_string();
        match how {
            0 => {
                let end = (at + 3).min(text.len());
                let end = (end..=text.len())
                    .find(|e| text.is_char_boundary(*e))
                    .unwrap();
                out.replace_range(at..end, "");
            }
            1 => out.insert(at, what),
            _ => {
                let end = (at + 12).min(text.len());
                let end = (end..=text.len())
                    .find(|e| text.is_char_boundary(*e))
                    .unwrap();
                out.insert_str(at, &text[at..end]);
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn what_is_read_is_what_serde_reads(event in event_value()) {
            let text = serde_json::to_string(&event).unwrap();
            let serde = by_serde(&text);
            match read_event(&text) {
                Some((fast, rest)) => {
                    prop_assert_eq!(rest, "");
                    prop_assert_eq!(Some(fast), serde);
                }
                // serde_json writes every event compactly: one it reads is read here too.
                None => prop_assert!(serde.is_none(), "declined {}", text),
            }
        }

        #[test]
        fn a_spoilt_event_is_declined_or_read_as_serde_reads_it(
            event in event_value(),
            how in 0..3usize,
            at in 0.0..1.0f64,
            what in prop::sample::select(vec![
                ' ', '"', ',', ':', '{', '}', '[', ']', '\\', '0', '-', 'n', 'e', '.', '\u{1}', 'é',
            ]),
        ) {
            let text = spoil(&serde_json::to_string(&event).unwrap(), how, at, what);
            if let Some((fast, rest)) = read_event(&text) {
                let read = &text[..text.len() - rest.len()];
                prop_assert_eq!(Some(fast), by_serde(read), "{}", read);
            }
        }
    }
}
