//! `eclean-load`: scenarios against a running eclean-realtime; each prints one JSON line.
//!
//!   eclean-load connections --sessions 19000 --rate 2000 --hold-s 30 --server-pid $PID
//!   eclean-load fanout --subscribers 100 --publishers 4 --rate 1000 --duration-s 30
//!   eclean-load rooms --rooms 500 --rate 2 --duration-s 30
//!   eclean-load cross-node --publish 127.0.0.1:8001 --subscribe 127.0.0.1:8002 …
//!   eclean-load soak --rooms 5000 --rate 0.1 --duration-s 1800 --sample-s 10 --server-pid $PID

// The JSON summary on stdout is this binary's interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use loadgen::auth::Tokens;
use loadgen::net::Target;
use loadgen::scenario::connections::{self, ConnectionsConfig};
use loadgen::scenario::soak;
use loadgen::scenario::traffic::{self, Layout, TrafficConfig};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "eclean-load",
    version,
    about = "Load scenarios against eclean-realtime"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Args)]
struct Common {
    /// The server (instance A).
    #[arg(long, global = true, default_value = "127.0.0.1:8000")]
    server: SocketAddr,
    /// The HS256 secret the server verifies tokens with.
    #[arg(long, global = true, env = "JWT_SECRET", default_value = "")]
    jwt_secret: String,
    /// First simulated user id (runs with different bases never share users).
    #[arg(long, global = true, default_value_t = 100_000_000)]
    user_base: i64,
    /// Loopback source addresses to spread connections over (127.0.0.1 … 127.0.0.N).
    #[arg(long, global = true, default_value_t = 1)]
    sources: u8,
    /// Sessions opened per second.
    #[arg(long, global = true, default_value_t = 1000.0)]
    connect_rate: f64,
    /// The server's pid, to report its memory.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
}

#[derive(Debug, Args)]
struct Timing {
    /// Messages per second (in total for fanout, per user for rooms).
    #[arg(long)]
    rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 30)]
    duration_s: u64,
    /// Seconds to wait for stragglers afterwards.
    #[arg(long, default_value_t = 10)]
    drain_s: u64,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// N authenticated idle sessions: connect times and server memory per session.
    Connections {
        /// Sessions.
        #[arg(long)]
        sessions: usize,
        /// Seconds to hold them.
        #[arg(long, default_value_t = 10)]
        hold_s: u64,
    },
    /// One room, S subscribers, publishers sending persisted messages.
    Fanout {
        /// Subscribers.
        #[arg(long, default_value_t = 100)]
        subscribers: usize,
        /// Publishers.
        #[arg(long, default_value_t = 4)]
        publishers: usize,
        #[command(flatten)]
        timing: Timing,
    },
    /// M rooms of two users, each user sending.
    Rooms {
        /// Rooms.
        #[arg(long, default_value_t = 500)]
        rooms: usize,
        #[command(flatten)]
        timing: Timing,
    },
    /// Fan-out with publishers on one instance and subscribers on another.
    CrossNode {
        /// Where publishers connect.
        #[arg(long)]
        publish: SocketAddr,
        /// Where subscribers connect.
        #[arg(long)]
        subscribe: SocketAddr,
        /// Subscribers.
        #[arg(long, default_value_t = 100)]
        subscribers: usize,
        /// Publishers.
        #[arg(long, default_value_t = 4)]
        publishers: usize,
        #[command(flatten)]
        timing: Timing,
    },
    /// Rooms traffic for a long time, sampling server memory.
    Soak {
        /// Rooms (two sessions each).
        #[arg(long, default_value_t = 5000)]
        rooms: usize,
        /// Seconds between memory samples.
        #[arg(long, default_value_t = 10)]
        sample_s: u64,
        #[command(flatten)]
        timing: Timing,
    },
}

fn print(report: &impl Serialize) {
    match serde_json::to_string(report) {
        Ok(line) => println!("{line}"),
        Err(error) => eprintln!("cannot encode the report: {error}"),
    }
}

fn traffic_config(
    common: &Common,
    tokens: Tokens,
    layout: Layout,
    timing: &Timing,
    publish: SocketAddr,
    subscribe: SocketAddr,
) -> TrafficConfig {
    TrafficConfig {
        publish: Target {
            address: publish,
            sources: common.sources,
        },
        subscribe: Target {
            address: subscribe,
            sources: common.sources,
        },
        api: format!("http://{publish}"),
        tokens,
        layout,
        rate: timing.rate,
        duration: Duration::from_secs(timing.duration_s),
        drain: Duration::from_secs(timing.drain_s),
        connect_rate: common.connect_rate,
        server_pid: common.server_pid,
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let common = &cli.common;
    if common.jwt_secret.is_empty() {
        eprintln!("give the server's HS256 secret with --jwt-secret or JWT_SECRET");
        return std::process::ExitCode::from(2);
    }
    let tag = format!("load{}x", std::process::id());
    let tokens = Tokens::new(&common.jwt_secret, common.user_base, tag);
    let server = common.server;
    let outcome = match &cli.scenario {
        Scenario::Connections { sessions, hold_s } => connections::run(ConnectionsConfig {
            target: Target {
                address: server,
                sources: common.sources,
            },
            tokens,
            sessions: *sessions,
            rate: common.connect_rate,
            hold: Duration::from_secs(*hold_s),
            server_pid: common.server_pid,
        })
        .await
        .map(|r| print(&r)),
        Scenario::Fanout {
            subscribers,
            publishers,
            timing,
        } => {
            let layout = Layout::Fanout {
                subscribers: *subscribers,
                publishers: *publishers,
            };
            traffic::run(
                traffic_config(common, tokens, layout, timing, server, server),
                "fanout",
            )
            .await
            .map(|r| print(&r))
        }
        Scenario::Rooms { rooms, timing } => {
            let layout = Layout::Rooms { rooms: *rooms };
            traffic::run(
                traffic_config(common, tokens, layout, timing, server, server),
                "rooms",
            )
            .await
            .map(|r| print(&r))
        }
        Scenario::CrossNode {
            publish,
            subscribe,
            subscribers,
            publishers,
            timing,
        } => {
            let layout = Layout::Fanout {
                subscribers: *subscribers,
                publishers: *publishers,
            };
            traffic::run(
                traffic_config(common, tokens, layout, timing, *publish, *subscribe),
                "cross-node",
            )
            .await
            .map(|r| print(&r))
        }
        Scenario::Soak {
            rooms,
            sample_s,
            timing,
        } => {
            let layout = Layout::Rooms { rooms: *rooms };
            soak::run(
                traffic_config(common, tokens, layout, timing, server, server),
                Duration::from_secs(*sample_s),
            )
            .await
            .map(|r| print(&r))
        }
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("eclean-load: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
