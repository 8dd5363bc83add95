//! Persisted traffic through rooms, measured at every receiving session: `fanout` (one room, many
//! subscribers), `rooms` (many rooms of two), `cross-node` (publishers on one instance,
//! subscribers on another).

use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};

use crate::auth::Tokens;
use crate::net::{self, Receiver, Sender, Target};
use crate::procfs::rss_kib;
use crate::setup::Api;
use crate::stats::{Latencies, Percentiles, Reception};
use crate::{LoadError, connect_many};

/// Who talks where.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One room: `subscribers` listen, `publishers` send `rate` messages/s in total.
    Fanout {
        /// Listening sessions.
        subscribers: usize,
        /// Sending sessions.
        publishers: usize,
    },
    /// `rooms` rooms of two users; each user sends `rate` messages/s and listens.
    Rooms {
        /// Rooms.
        rooms: usize,
    },
}

/// A traffic run.
#[derive(Debug, Clone)]
pub struct TrafficConfig {
    /// Where senders connect.
    pub publish: Target,
    /// Where receivers connect (another instance for `cross-node`).
    pub subscribe: Target,
    /// REST base URL for the set-up.
    pub api: String,
    /// Token minting.
    pub tokens: Tokens,
    /// Who talks where.
    pub layout: Layout,
    /// Messages per second: in total (fanout), per user (rooms).
    pub rate: f64,
    /// How long to send.
    pub duration: Duration,
    /// How long to wait for stragglers after sending stops.
    pub drain: Duration,
    /// Sessions opened per second during set-up.
    pub connect_rate: f64,
    /// The server's pid, for its memory.
    pub server_pid: Option<u32>,
}

/// What a traffic run measured.
#[derive(Debug, Clone, Serialize)]
pub struct TrafficReport {
    /// `fanout`, `rooms` or `cross-node`.
    pub scenario: String,
    /// The layout.
    pub layout: Layout,
    /// Configured rate.
    pub rate: f64,
    /// Seconds of sending.
    pub duration_s: f64,
    /// Messages sent.
    pub sent: u64,
    /// Messages the server acknowledged (stored).
    pub acked: u64,
    /// Send errors answered by the server (rate limits, refusals).
    pub refused: u64,
    /// Publishers whose connection failed before their time was up (the server closed it).
    pub disconnected: u64,
    /// Deliveries owed: acked × receivers of each.
    pub expected: u64,
    /// Deliveries that arrived (first time).
    pub delivered: u64,
    /// `expected - delivered`.
    pub lost: u64,
    /// Deliveries that arrived again.
    pub duplicated: u64,
    /// Deliveries whose seq jumped.
    pub out_of_order: u64,
    /// Achieved send rate, messages/s.
    pub sent_per_s: f64,
    /// Achieved delivery rate, deliveries/s.
    pub delivered_per_s: f64,
    /// Send → receive, at sessions other than the sender's.
    pub latency_ms: Percentiles,
    /// Server memory at the end, KiB.
    pub server_rss_kib: Option<u64>,
}

fn micros_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One session's part in the run.
struct Party {
    user: i64,
    room: i64,
    /// Sends at this rate (0: listens only).
    rate: f64,
    listens: bool,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    acked: AtomicU64,
    refused: AtomicU64,
    disconnected: AtomicU64,
    delivered: AtomicU64,
}

struct Outcome {
    reception: Reception,
    latencies: Latencies,
}

/// A reader started the moment its session opened: the client library answers the server's pings
/// only while it reads, and the server closes a session silent for two heartbeats, so no session
/// may wait unread while the others open and the rooms are created.
struct Reader {
    /// Which room to measure (and, for listeners, to wait for the subscription to).
    room: oneshot::Sender<i64>,
    /// The subscription's answer.
    subscribed: oneshot::Receiver<Result<(), String>>,
    task: tokio::task::JoinHandle<Outcome>,
}

impl Reader {
    fn start(
        receiver: Receiver,
        user: i64,
        counters: Arc<Counters>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let (room_tx, room_rx) = oneshot::channel();
        let (subscribed_tx, subscribed_rx) = oneshot::channel();
        let task = tokio::spawn(listen(
            receiver,
            user,
            room_rx,
            subscribed_tx,
            counters,
            stop,
        ));
        Self {
            room: room_tx,
            subscribed: subscribed_rx,
            task,
        }
    }
}

/// Subscribes `sender`'s session to `room`; its reader reports the answer.
async fn subscribe(
    sender: &mut Sender,
    subscribed: oneshot::Receiver<Result<(), String>>,
    room: i64,
) -> Result<(), LoadError> {
    net::send(
        sender,
        &json!({"type": "subscribe_room", "room_id": room, "ref": SUBSCRIBE_REF}),
    )
    .await?;
    let answer = tokio::time::timeout(Duration::from_secs(30), subscribed)
        .await
        .map_err(|_| LoadError::Setup(format!("no subscribed for room {room}")))?;
    match answer {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(LoadError::Setup(format!("subscribe {room}: {error}"))),
        Err(_) => Err(LoadError::Setup(format!(
            "subscribe {room}: the session ended"
        ))),
    }
}

/// The `ref` of a subscription request; message refs start with `m`.
const SUBSCRIBE_REF: &str = "s";

/// Reads from the moment the session opened until `stop`: first only to keep the session alive,
/// then, once told its room, measuring every message of it.
async fn listen(
    mut receiver: Receiver,
    party_user: i64,
    room: oneshot::Receiver<i64>,
    subscribed: oneshot::Sender<Result<(), String>>,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let mut outcome = Outcome {
        reception: Reception::default(),
        latencies: Latencies::default(),
    };
    let mut room = std::pin::pin!(room);
    let room = loop {
        // The room first: it is told before the subscription is sent, so checking it first
        // guarantees the answer to the subscription is read below, not dropped here.
        tokio::select! {
            biased;
            told = &mut room => match told {
                Ok(room) => break room,
                Err(_) => return outcome,
            },
            _ = stop.changed() => return outcome,
            frame = net::next_json(&mut receiver) => if frame.is_err() { return outcome },
        }
    };
    let mut subscribed = Some(subscribed);
    loop {
        let frame = tokio::select! {
            frame = net::next_json(&mut receiver) => frame,
            _ = stop.changed() => break,
        };
        let Ok(frame) = frame else { break };
        match frame["type"].as_str() {
            Some("new_message") if frame["room_id"] == room => {
                let message = &frame["message"];
                let Some(seq) = message["seq"].as_i64() else {
                    continue;
                };
                let before = outcome.reception.delivered;
                outcome.reception.saw(seq);
                if outcome.reception.delivered > before {
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                }
                let own = message["sender"]["id"].as_i64() == Some(party_user);
                let sent_at = message["content"]
                    .as_str()
                    .and_then(|c| serde_json::from_str::<Value>(c).ok())
                    .and_then(|c| c["t"].as_u64());
                if let (false, Some(sent_at)) = (own, sent_at) {
                    outcome
                        .latencies
                        .record(micros_now().saturating_sub(sent_at));
                }
            }
            Some("subscribed") if frame["room_id"] == room => {
                if let Some(tx) = subscribed.take() {
                    let _ = tx.send(Ok(()));
                }
            }
            Some("message_ack") => {
                counters.acked.fetch_add(1, Ordering::Relaxed);
            }
            Some("error") if frame["ref"] == SUBSCRIBE_REF => {
                if let Some(tx) = subscribed.take() {
                    let _ = tx.send(Err(frame.to_string()));
                }
            }
            Some("error") if frame["ref"].as_str().is_some_and(|r| r.starts_with('m')) => {
                counters.refused.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
    outcome
}

/// Sends at `rate` until `until`.
async fn publish(
    mut sender: Sender,
    room: i64,
    rate: f64,
    until: Instant,
    tag: String,
    counters: Arc<Counters>,
) -> Sender {
    if rate <= 0.0 {
        return sender;
    }
    // Each publisher starts at its own point of the period: started together, thousands of slow
    // publishers (the soak: one message per user every 20 s) would all send in the same instant.
    let period = Duration::from_secs_f64(1.0 / rate);
    let phase = tag
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let offset = period.mul_f64((phase % 1000) as f64 / 1000.0);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut n: u64 = 0;
    loop {
        ticks.tick().await;
        // Checked after the wait: a slow publisher's tick can fall past the end.
        if Instant::now() >= until {
            break;
        }
        n += 1;
        let content = json!({"t": micros_now(), "n": n}).to_string();
        let frame = json!({
            "type": "send_message", "room_id": room, "content": content,
            "client_msg_id": format!("{tag}-{n}"), "ref": format!("m{n}"),
        });
        if net::send(&mut sender, &frame).await.is_err() {
            counters.disconnected.fetch_add(1, Ordering::Relaxed);
            break;
        }
        counters.sent.fetch_add(1, Ordering::Relaxed);
    }
    sender
}

/// Runs the traffic and reports.
pub async fn run(config: TrafficConfig, scenario: &str) -> Result<TrafficReport, LoadError> {
    let api = Api::new(config.api.clone());
    let tokens = &config.tokens;
    // Who is where.
    let (parties, receivers_per_message): (Vec<(usize, Party, bool)>, u64) = match config.layout {
        Layout::Fanout {
            subscribers,
            publishers,
        } => {
            let mut all = Vec::new();
            for i in 0..subscribers {
                all.push((
                    i,
                    Party {
                        user: tokens.user_id(i),
                        room: 0,
                        rate: 0.0,
                        listens: true,
                    },
                    false,
                ));
            }
            let per = config.rate / publishers.max(1) as f64;
            for i in subscribers..subscribers + publishers {
                all.push((
                    i,
                    Party {
                        user: tokens.user_id(i),
                        room: 0,
                        rate: per,
                        listens: false,
                    },
                    true,
                ));
            }
            (all, subscribers as u64)
        }
        Layout::Rooms { rooms } => {
            let mut all = Vec::new();
            for i in 0..rooms * 2 {
                all.push((
                    i,
                    Party {
                        user: tokens.user_id(i),
                        room: 0,
                        rate: config.rate,
                        listens: true,
                    },
                    true,
                ));
            }
            (all, 2)
        }
    };
    // Sessions first: a token creates its user on first use, and rooms need their members.
    let plan: Vec<(usize, Target)> = parties
        .iter()
        .map(|(i, _, publishes)| {
            let target = if *publishes && matches!(config.layout, Layout::Fanout { .. }) {
                config.publish.clone()
            } else {
                config.subscribe.clone()
            };
            (*i, target)
        })
        .collect();
    let counters = Arc::new(Counters::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let sessions: Vec<(Sender, Reader)> = connect_many(plan, tokens, config.connect_rate)
        .await?
        .into_iter()
        .zip(&parties)
        .map(|((sender, receiver), (_, party, _))| {
            let reader = Reader::start(receiver, party.user, counters.clone(), stop_rx.clone());
            (sender, reader)
        })
        .collect();
    // Rooms.
    let mut parties = parties;
    match config.layout {
        Layout::Fanout { subscribers, .. } => {
            // The first publisher owns the room.
            let owner = subscribers;
            let members: Vec<i64> = parties
                .iter()
                .map(|(_, p, _)| p.user)
                .filter(|u| *u != tokens.user_id(owner))
                .collect();
            let room = api
                .room(
                    &tokens.token(owner),
                    &format!("{}-fanout", tokens.tag),
                    &members,
                )
                .await
                .map_err(|e| LoadError::Setup(e.to_string()))?;
            for (_, party, _) in &mut parties {
                party.room = room;
            }
        }
        Layout::Rooms { rooms } => {
            // Eight at a time: thousands one by one take minutes.
            let created: Vec<Result<(usize, i64), LoadError>> =
                futures_util::stream::iter((0..rooms).map(|r| {
                    let api = &api;
                    async move {
                        api.dm(&tokens.token(2 * r), tokens.user_id(2 * r + 1))
                            .await
                            .map(|room| (r, room))
                            .map_err(|e| LoadError::Setup(e.to_string()))
                    }
                }))
                .buffer_unordered(8)
                .collect()
                .await;
            for outcome in created {
                let (r, room) = outcome?;
                parties[2 * r].1.room = room;
                parties[2 * r + 1].1.room = room;
            }
        }
    }
    // Tell each reader its room, subscribe the listeners, then go.
    let mut listeners = Vec::new();
    let mut senders = Vec::new();
    for ((_, party, _), (mut sender, reader)) in parties.into_iter().zip(sessions) {
        let _ = reader.room.send(party.room);
        if party.listens {
            subscribe(&mut sender, reader.subscribed, party.room).await?;
        }
        listeners.push(reader.task);
        senders.push((sender, party));
    }
    let started = Instant::now();
    let until = started + config.duration;
    let mut publishing = Vec::new();
    for (sender, party) in senders {
        let tag = format!("{}-{}", tokens.tag, party.user);
        publishing.push(tokio::spawn(publish(
            sender,
            party.room,
            party.rate,
            until,
            tag,
            counters.clone(),
        )));
    }
    let mut held_senders = Vec::new();
    for task in publishing {
        if let Ok(sender) = task.await {
            held_senders.push(sender);
        }
    }
    let sending_time = started.elapsed();
    // Wait for the deliveries owed (or the drain time).
    let deadline = Instant::now() + config.drain;
    loop {
        let acked = counters.acked.load(Ordering::Relaxed);
        let answered = acked + counters.refused.load(Ordering::Relaxed);
        let settled = answered >= counters.sent.load(Ordering::Relaxed)
            && counters.delivered.load(Ordering::Relaxed) >= acked * receivers_per_message;
        if settled || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server_rss_kib = config.server_pid.and_then(rss_kib);
    let _ = stop_tx.send(true);
    let mut latencies = Latencies::default();
    let mut reception = Reception::default();
    for task in listeners {
        if let Ok(outcome) = task.await {
            latencies.merge(&outcome.latencies);
            reception.delivered += outcome.reception.delivered;
            reception.duplicated += outcome.reception.duplicated;
            reception.out_of_order += outcome.reception.out_of_order;
        }
    }
    drop(held_senders);
    let acked = counters.acked.load(Ordering::Relaxed);
    let expected = acked * receivers_per_message;
    let seconds = sending_time.as_secs_f64().max(f64::EPSILON);
    Ok(TrafficReport {
        scenario: scenario.to_owned(),
        layout: config.layout,
        rate: config.rate,
        duration_s: seconds,
        sent: counters.sent.load(Ordering::Relaxed),
        acked,
        refused: counters.refused.load(Ordering::Relaxed),
        disconnected: counters.disconnected.load(Ordering::Relaxed),
        expected,
        delivered: reception.delivered,
        lost: expected.saturating_sub(reception.delivered),
        duplicated: reception.duplicated,
        out_of_order: reception.out_of_order,
        sent_per_s: counters.sent.load(Ordering::Relaxed) as f64 / seconds,
        delivered_per_s: reception.delivered as f64 / seconds,
        latency_ms: latencies.percentiles(),
        server_rss_kib,
    })
}
