//! Live sessions and throttles in Redis, shared by every instance (deadpool-redis).
//!
//! A user's sessions are a sorted set `<prefix>sessions:<user>`: member = session id, score = the
//! instant (ms) it expires unless refreshed. Expired members are dropped whenever the set is
//! touched, and the key itself expires with its last member — so the sessions of a killed instance
//! stop counting after one TTL. Throttles are `INCR` counters whose key expires with the window.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deadpool_redis::redis::{self, Value};
use domain::user::UserId;
use ports::{PortError, PresenceStore, Throttle};

use crate::pool::RedisPool;

/// Registers a session unless the cap is reached: -1 at the cap, otherwise the number of other
/// live sessions (0: the user just came online). Atomic, so two instances cannot both take the
/// last place.
const REGISTER: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local known = redis.call('ZSCORE', KEYS[1], ARGV[3])
local others = redis.call('ZCARD', KEYS[1])
if known then others = others - 1 end
if not known and others >= tonumber(ARGV[4]) then return -1 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return others
";

/// Removes a session and answers how many live ones remain.
const UNREGISTER: &str = r"
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])
";

/// Counts a hit; the first one of a window sets its expiry.
const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
";

/// Sessions refreshed per pipelined request.
const REFRESH_CHUNK: usize = 500;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> PortError {
    PortError::unavailable(error)
}

/// Live sessions in Redis.
#[derive(Clone)]
pub struct RedisPresence {
    pool: RedisPool,
    prefix: String,
}

impl std::fmt::Debug for RedisPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPresence")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisPresence {
    /// The store over this pool, its keys under `prefix`.
    pub fn new(pool: RedisPool, prefix: impl Into<String>) -> Self {
        Self {
            pool,
            prefix: prefix.into(),
        }
    }

    fn key(&self, user: UserId) -> String {
        format!("{}sessions:{user}", self.prefix)
    }
}

async fn eval(
    pool: &RedisPool,
    script: &str,
    key: &str,
    args: &[String],
) -> Result<i64, PortError> {
    let mut conn = pool.get().await.map_err(unavailable)?;
    let mut command = redis::cmd("EVAL");
    command.arg(script).arg(1).arg(key);
    for arg in args {
        command.arg(arg);
    }
    command.query_async(&mut conn).await.map_err(unavailable)
}

impl PresenceStore for RedisPresence {
    async fn register(
        &self,
        user: UserId,
        session: &str,
        ttl: Duration,
        cap: usize,
    ) -> Result<bool, PortError> {
        let now = now_ms();
        let others = eval(
            &self.pool,
            REGISTER,
            &self.key(user),
            &[
                now.to_string(),
                (now + ms(ttl)).to_string(),
                session.to_owned(),
                cap.to_string(),
                ms(ttl).to_string(),
            ],
        )
        .await?;
        match others {
            -1 => Err(PortError::Conflict("session_cap")),
            0 => Ok(true),
            _ => Ok(false),
        }
    }

    async fn refresh(&self, sessions: &[(UserId, String)], ttl: Duration) -> Result<(), PortError> {
        if sessions.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.get().await.map_err(unavailable)?;
        let (expiry, ttl_ms) = (now_ms() + ms(ttl), ms(ttl));
        // Pipelined in chunks, so one call for 20,000 sessions neither builds one huge request
        // nor holds Redis on a single command for long.
        for chunk in sessions.chunks(REFRESH_CHUNK) {
            let mut pipe = redis::pipe();
            for (user, session) in chunk {
                let key = self.key(*user);
                pipe.cmd("ZADD")
                    .arg(&key)
                    .arg(expiry)
                    .arg(session)
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(ttl_ms)
                    .ignore();
            }
            pipe.query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn unregister(&self, user: UserId, session: &str) -> Result<bool, PortError> {
        let left = eval(
            &self.pool,
            UNREGISTER,
            &self.key(user),
            &[now_ms().to_string(), session.to_owned()],
        )
        .await?;
        Ok(left == 0)
    }

    async fn online(&self, users: &[UserId]) -> Result<HashSet<UserId>, PortError> {
        if users.is_empty() {
            return Ok(HashSet::new());
        }
        let mut conn = self.pool.get().await.map_err(unavailable)?;
        let now = now_ms();
        let mut pipe = redis::pipe();
        for user in users {
            pipe.cmd("ZCOUNT").arg(self.key(*user)).arg(now).arg("+inf");
        }
        let counts: Vec<Value> = pipe.query_async(&mut conn).await.map_err(unavailable)?;
        Ok(users
            .iter()
            .zip(counts)
            .filter(|(_, count)| matches!(count, Value::Int(n) if *n > 0))
            .map(|(user, _)| *user)
            .collect())
    }
}

/// Throttles in Redis.
#[derive(Clone)]
pub struct RedisThrottle {
    pool: RedisPool,
    prefix: String,
}

impl std::fmt::Debug for RedisThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisThrottle")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisThrottle {
    /// The counters over this pool, their keys under `prefix`.
    pub fn new(pool: RedisPool, prefix: impl Into<String>) -> Self {
        Self {
            pool,
            prefix: prefix.into(),
        }
    }
}

impl Throttle for RedisThrottle {
    async fn allow(&self, key: &str, window: Duration, limit: u32) -> Result<bool, PortError> {
        let hits = eval(
            &self.pool,
            HIT,
            &format!("{}throttle:{key}", self.prefix),
            &[ms(window).max(1).to_string()],
        )
        .await?;
        Ok(hits <= i64::from(limit))
    }

    async fn reset(&self, key: &str) -> Result<(), PortError> {
        let mut conn = self.pool.get().await.map_err(unavailable)?;
        redis::cmd("DEL")
            .arg(format!("{}throttle:{key}", self.prefix))
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
    }
}
