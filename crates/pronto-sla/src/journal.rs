//! A conversation's recent events, kept compactly so that a late event can be put in its place
//! and the conversation's verdicts derived again in event-time order.
//!
//! Only what the clocks read is kept: the time, the event id (fact ids are derived from it),
//! and the few fields of each payload that move a clock. Names (tiers, queues, agents) are
//! interned by the engine. A conversation whose clocks are all closed and whose last event is
//! older than the correction window folds its journal into its current state and drops it.

use compact_str::CompactString;
use pronto_domain::{
    AuthorKind, BoundedText, Channel, ConversationStatus, Envelope, Event, EventTime, Id, Payload,
    Priority, Visibility,
};

/// What a kept event did, with names as interned symbols (0: none).
#[derive(Debug, Clone)]
pub(crate) enum What {
    Customer {
        tier: u32,
    },
    Reply {
        author: AuthorKind,
        visibility: Visibility,
        agent: u32,
    },
    Status(ConversationStatus),
    Assignment {
        queue: u32,
        agent: u32,
    },
    Priority(Priority),
    /// Rare enough to live behind a pointer: the merged conversation, and the wait it carried.
    Merged(Box<(CompactString, Option<(EventTime, CompactString)>)>),
}

/// One kept event.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) at: EventTime,
    pub(crate) id: CompactString,
    pub(crate) what: What,
}

impl Entry {
    /// The entry for `event`, interning names with `intern`.
    pub(crate) fn of(event: &Event, mut intern: impl FnMut(&str) -> u32) -> Self {
        let mut name = |id: &Option<Id>| id.as_ref().map_or(0, |i| intern(i.as_str()));
        let what = match &event.payload {
            Payload::CustomerMessage { customer_tier, .. } => What::Customer {
                tier: name(customer_tier),
            },
            Payload::ReplySent {
                author,
                visibility,
                agent_id,
                ..
            } => What::Reply {
                author: *author,
                visibility: *visibility,
                agent: name(agent_id),
            },
            Payload::StatusChanged(s) => What::Status(*s),
            Payload::AssignmentChanged { queue, agent_id } => What::Assignment {
                queue: name(queue),
                agent: name(agent_id),
            },
            Payload::PriorityChanged(p) => What::Priority(*p),
            Payload::Merged { from, waiting } => What::Merged(Box::new((
                from.as_str().into(),
                waiting.as_ref().map(|(at, m)| (*at, m.as_str().into())),
            ))),
        };
        Self {
            at: event.at(),
            id: event.id().into(),
            what,
        }
    }

    /// The event again, as the engine reads it: texts and customer ids, which no clock
    /// reads, are left empty. `name` resolves an interned symbol.
    pub(crate) fn event<'a>(
        &self,
        tenant: &str,
        conversation: &str,
        channel: Channel,
        name: impl Fn(u32) -> &'a str,
    ) -> Event {
        let named = |symbol: u32| (symbol != 0).then(|| id(name(symbol)));
        let payload = match &self.what {
            What::Customer { tier } => Payload::CustomerMessage {
                text: BoundedText::default(),
                customer_id: id("journal"),
                customer_tier: named(*tier),
            },
            What::Reply {
                author,
                visibility,
                agent,
            } => Payload::ReplySent {
                text: BoundedText::default(),
                author: *author,
                visibility: *visibility,
                agent_id: named(*agent),
                agent_display_name: None,
            },
            What::Status(s) => Payload::StatusChanged(*s),
            What::Assignment { queue, agent } => Payload::AssignmentChanged {
                queue: named(*queue),
                agent_id: named(*agent),
            },
            What::Priority(p) => Payload::PriorityChanged(*p),
            What::Merged(m) => Payload::Merged {
                from: id(&m.0),
                waiting: m.1.as_ref().map(|(at, message)| (*at, id(message))),
            },
        };
        Event {
            envelope: Envelope {
                event_id: id(&self.id),
                tenant: id(tenant),
                conversation_id: id(conversation),
                occurred_at: self.at,
                source: id("journal"),
                schema_version: 1,
                channel,
            },
            payload,
        }
    }
}

/// An id that was valid when the event was taken, so it parses again.
fn id(s: &str) -> Id {
    Id::parse(s).unwrap_or_else(|_| Id::parse("?").expect("a one-letter id is valid"))
}

/// A conversation as it stood before the first kept event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Base {
    pub(crate) priority: Priority,
    pub(crate) status: ConversationStatus,
    pub(crate) replied_before: bool,
    pub(crate) queue: u32,
    pub(crate) tier: u32,
}

impl Base {
    pub(crate) const FRESH: Base = Base {
        priority: Priority::Normal,
        status: ConversationStatus::Open,
        replied_before: false,
        queue: 0,
        tier: 0,
    };
}

/// The kept events of a conversation, in event-time order (ties by id), after `base`.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    pub(crate) base: Base,
    /// Events before this instant were folded into `base`: a late event before it cannot be
    /// put in its place.
    pub(crate) base_at: EventTime,
    pub(crate) entries: Vec<Entry>,
    /// Verdicts corrected, by the id derivation gives them, with the id each was announced
    /// again under, if it was: a fact id is announced once, so a verdict that holds again after
    /// it was taken back is a new fact.
    pub(crate) taken_back: Vec<(String, Option<String>)>,
}

impl Journal {
    pub(crate) fn new(base: Base, base_at: EventTime) -> Self {
        Self {
            base,
            base_at,
            entries: Vec::new(),
            taken_back: Vec::new(),
        }
    }

    /// The id under which the verdict derived as `id` stands.
    pub(crate) fn announced_as<'a>(&'a self, id: &'a str) -> &'a str {
        match self.taken_back.iter().find(|(derived, _)| derived == id) {
            Some((_, Some(again))) => again,
            _ => id,
        }
    }

    /// Notes that the verdict derived as `id` was taken back.
    pub(crate) fn take_back(&mut self, id: &str) {
        match self
            .taken_back
            .iter_mut()
            .find(|(derived, _)| derived == id)
        {
            Some(entry) => entry.1 = None,
            None => self.taken_back.push((id.to_string(), None)),
        }
    }

    /// The id to announce the verdict derived as `id` under, now that it holds: `id`, unless
    /// it was taken back before; then a new one, made from `id` and `cause`.
    pub(crate) fn announce(&mut self, id: &str, cause: &str) -> String {
        match self
            .taken_back
            .iter_mut()
            .find(|(derived, _)| derived == id)
        {
            Some(entry) => {
                let prefix = id.split('-').next().unwrap_or("fact");
                let again = pronto_domain::fact_id(prefix, &[id, "again", cause]);
                entry.1 = Some(again.clone());
                again
            }
            None => id.to_string(),
        }
    }

    /// Puts `entry` in its place. Most conversations hold a handful of events, so room for
    /// the first eight grows from one by doubling (1, 2, 4, 8): few reallocations, and the
    /// two entries of a conversation's first exchange take no spare room.
    pub(crate) fn insert(&mut self, entry: Entry) {
        let after = |e: &Entry| (e.at, e.id.as_str()) <= (entry.at, entry.id.as_str());
        // Events mostly come in order: then the entry goes last, with no search.
        let at = match self.entries.last() {
            Some(last) if !after(last) => self.entries.partition_point(after),
            _ => self.entries.len(),
        };
        let n = self.entries.len();
        if n < 8 && n == self.entries.capacity() {
            self.entries.reserve_exact(n.max(1));
        }
        self.entries.insert(at, entry);
    }

    /// The newest kept instant.
    pub(crate) fn last_at(&self) -> Option<EventTime> {
        self.entries.last().map(|e| e.at)
    }
}

/// Where a conversation's history is, when it has no journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum History {
    /// Nothing taken yet.
    Fresh,
    /// Only the customer message that started its reply clock, from a fresh conversation: the
    /// clock holds all there is to know of it. Most open conversations are so.
    FirstMessage,
    /// Folded into the conversation's state, all of it older than the correction window.
    Folded,
}
