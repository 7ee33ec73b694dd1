//! Broker address and topic names, as command-line flags with environment fallbacks.

use pronto_proto::Topic;

/// Where the broker is and what the topics are called.
#[derive(Debug, Clone, clap::Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers, comma-separated.
    #[arg(long, env = "PRONTO_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,
    /// A librdkafka property for every Kafka client of this process, as KEY=VALUE, over
    /// Pronto's own settings (repeat the flag, or separate with commas in the environment
    /// variable), e.g. `linger.ms=20` or `security.protocol=ssl`. See docs/architecture.md for
    /// the settings Pronto chooses.
    #[arg(
        long = "kafka-option",
        env = "PRONTO_KAFKA_OPTIONS",
        value_delimiter = ',',
        value_parser = parse_option,
        value_name = "KEY=VALUE"
    )]
    pub kafka_options: Vec<(String, String)>,
    /// Partitions for topics this process creates when they are missing.
    #[arg(long, env = "PRONTO_PARTITIONS", default_value_t = 3)]
    pub partitions: i32,
    /// This replica's stable name, for static consumer-group membership: a restarted replica
    /// with the same id resumes its partitions at once. Give each replica its own (on
    /// Kubernetes, the StatefulSet pod name). Defaults to the host name; empty disables.
    #[arg(long, env = "PRONTO_INSTANCE_ID", default_value_t = default_instance())]
    pub instance_id: String,
    /// Most records' outputs a consuming service keeps in flight, sent but not yet
    /// acknowledged by the broker: more keeps the pipeline busy across broker round trips,
    /// fewer bounds memory and what a crash makes it process again.
    #[arg(long, env = "PRONTO_MAX_IN_FLIGHT", default_value_t = DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,
    /// Topic of interaction events (input of every service).
    #[arg(long, env = "PRONTO_EVENTS_TOPIC", default_value = "pronto.events.v1")]
    pub events_topic: String,
    /// Topic of sentiment tags.
    #[arg(
        long,
        env = "PRONTO_SENTIMENT_TOPIC",
        default_value = "pronto.sentiment.v1"
    )]
    pub sentiment_topic: String,
    /// Topic of SLA verdicts (latencies, warnings, breaches).
    #[arg(long, env = "PRONTO_SLA_TOPIC", default_value = "pronto.sla.v1")]
    pub sla_topic: String,
    /// Topic of escalations.
    #[arg(
        long,
        env = "PRONTO_ESCALATIONS_TOPIC",
        default_value = "pronto.escalations.v1"
    )]
    pub escalations_topic: String,
    /// Topic for records no consumer could decode, with the reason.
    #[arg(
        long,
        env = "PRONTO_DEAD_LETTER_TOPIC",
        default_value = "pronto.deadletter.v1"
    )]
    pub dead_letter_topic: String,
    /// Topic of SLA policy versions: which version is in force from when.
    #[arg(
        long,
        env = "PRONTO_POLICIES_TOPIC",
        default_value = "pronto.policies.v1"
    )]
    pub policies_topic: String,
}

/// A librdkafka property given as KEY=VALUE.
fn parse_option(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!(
            "expected KEY=VALUE (a librdkafka property), got {s:?}"
        )),
    }
}

/// How to reach the broker: its bootstrap servers, and librdkafka properties that override the
/// settings Pronto chooses for each kind of client.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub brokers: String,
    pub options: Vec<(String, String)>,
}

impl Connection {
    /// A client configuration for these brokers with Pronto's `settings`, overridden by the
    /// connection's options.
    pub(crate) fn config(&self, settings: &[(&str, &str)]) -> rdkafka::config::ClientConfig {
        let mut c = rdkafka::config::ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in settings {
            c.set(*k, *v);
        }
        for (k, v) in &self.options {
            c.set(k, v);
        }
        c
    }
}

impl From<&str> for Connection {
    fn from(brokers: &str) -> Self {
        Self {
            brokers: brokers.to_string(),
            options: Vec::new(),
        }
    }
}

impl From<&String> for Connection {
    fn from(brokers: &String) -> Self {
        brokers.as_str().into()
    }
}

impl From<&Connection> for Connection {
    fn from(c: &Connection) -> Self {
        c.clone()
    }
}

/// Outputs a consuming service keeps in flight unless told otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 10_000;

/// The topic names in force.
#[derive(Debug, Clone)]
pub struct Topics {
    pub events: String,
    pub sentiment: String,
    pub sla: String,
    pub escalations: String,
    pub dead_letter: String,
    pub policies: String,
}

impl KafkaArgs {
    /// The brokers and the librdkafka options given.
    pub fn connection(&self) -> Connection {
        Connection {
            brokers: self.brokers.clone(),
            options: self.kafka_options.clone(),
        }
    }

    pub fn topics(&self) -> Topics {
        Topics {
            events: self.events_topic.clone(),
            sentiment: self.sentiment_topic.clone(),
            sla: self.sla_topic.clone(),
            escalations: self.escalations_topic.clone(),
            dead_letter: self.dead_letter_topic.clone(),
            policies: self.policies_topic.clone(),
        }
    }
}

impl Topics {
    /// What the topic named `name` carries, if it is one of Pronto's record topics (the
    /// dead-letter topic carries records no consumer could use, so it is none of them).
    pub fn kind(&self, name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|&t| self.name(t) == name)
    }

    /// The name of the topic that carries `topic`'s records.
    pub fn name(&self, topic: Topic) -> &str {
        match topic {
            Topic::Events => &self.events,
            Topic::Sentiment => &self.sentiment,
            Topic::Sla => &self.sla,
            Topic::Escalations => &self.escalations,
            Topic::Policies => &self.policies,
        }
    }

    pub fn all(&self) -> [&str; 6] {
        [
            &self.events,
            &self.sentiment,
            &self.sla,
            &self.escalations,
            &self.dead_letter,
            &self.policies,
        ]
    }
}

fn default_instance() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

impl KafkaArgs {
    /// The default topic names on the given brokers, as if no flag were given.
    pub fn with_brokers(brokers: &str) -> Self {
        Self {
            brokers: brokers.to_string(),
            kafka_options: Vec::new(),
            partitions: 3,
            instance_id: String::new(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            events_topic: "pronto.events.v1".into(),
            sentiment_topic: "pronto.sentiment.v1".into(),
            sla_topic: "pronto.sla.v1".into(),
            escalations_topic: "pronto.escalations.v1".into(),
            dead_letter_topic: "pronto.deadletter.v1".into(),
            policies_topic: "pronto.policies.v1".into(),
        }
    }
}
