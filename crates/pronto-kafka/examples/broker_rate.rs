//! The raw broker rate for a topic's records: copies every record of `--from` (keys, payloads
//! and headers' sizes as they are) into a fresh topic, produce all, then consumes them all
//! back, with the clients and settings the services use. Prints JSON: records, bytes, and the
//! produce, consume and combined rates.
//!
//! ```sh
//! cargo run --release -p pronto-kafka --example broker_rate -- 127.0.0.1:9092 pronto.events.v1 3
//! ```

use pronto_kafka::rdkafka::consumer::Consumer as _;
use pronto_kafka::rdkafka::message::Message as _;
use pronto_kafka::{DEFAULT_MAX_IN_FLIGHT, InFlight, Publisher, assign_from_beginning, reader};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, from, partitions] = args.as_slice() else {
        eprintln!("usage: broker_rate BROKERS FROM_TOPIC PARTITIONS");
        std::process::exit(2);
    };
    let partitions: i32 = partitions.parse()?;
    let to = format!("{from}.raw-rate");

    // What to send: every record of the source topic, read before any clock starts.
    let source = reader(brokers)?;
    assign_from_beginning(&source, &[from])?;
    let mut end = 0i64;
    for e in source.assignment()?.elements() {
        let (low, high) = source.fetch_watermarks(from, e.partition(), Duration::from_secs(10))?;
        end += high - low;
    }
    let mut records: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(end as usize);
    while (records.len() as i64) < end {
        match tokio::time::timeout(Duration::from_secs(5), source.recv()).await {
            Ok(m) => {
                let m = m?;
                records.push((
                    m.key().unwrap_or_default().to_vec(),
                    m.payload().unwrap_or_default().to_vec(),
                ));
            }
            Err(_) => break,
        }
    }
    drop(source);
    let bytes: usize = records.iter().map(|(k, v)| k.len() + v.len()).sum();
    pronto_kafka::ensure_topics(brokers, &[to.as_str()], partitions, Duration::from_secs(30))
        .await?;

    let publisher = Publisher::new(brokers)?;
    let mut window = InFlight::new(DEFAULT_MAX_IN_FLIGHT);
    let started = Instant::now();
    for (key, payload) in &records {
        while window.is_full() {
            window.next().await.transpose()?;
        }
        let key = String::from_utf8_lossy(key);
        window.push(
            vec![
                publisher
                    .send(&to, &key, payload, "pronto.v1.Event")
                    .await?,
            ],
            (),
        );
    }
    window.drain(|()| Ok(())).await?;
    let produce_s = started.elapsed().as_secs_f64();

    let consumer = reader(brokers)?;
    assign_from_beginning(&consumer, &[to.as_str()])?;
    let started = Instant::now();
    let mut n = 0usize;
    while n < records.len() {
        consumer.recv().await?;
        n += 1;
    }
    let consume_s = started.elapsed().as_secs_f64();
    let total = records.len() as f64;
    println!(
        "{}",
        serde_json::json!({
            "records": records.len(),
            "bytes": bytes,
            "produce_s": produce_s,
            "produce_per_s": total / produce_s,
            "consume_s": consume_s,
            "consume_per_s": total / consume_s,
            "raw_per_s": total / (produce_s + consume_s),
        })
    );
    Ok(())
}
