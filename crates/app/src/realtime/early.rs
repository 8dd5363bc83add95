//! Messages that reach a session ahead of their turn.
//!
//! Senders of one room commit in `seq` order, but each then publishes on its own, so with
//! several senders (or instances) message 11 can arrive a moment before message 10. Treating
//! that as a gap sends every session of the room to storage for a count and a replay, which at
//! a few hundred messages a second became most of the database's work. Instead a message ahead
//! of its turn is held until the ones before it arrive and then handled in order; one that never
//! arrives (truly lost) is given up on after a short wait, and the ordinary gap handling fetches
//! it from storage.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use domain::chat::{RoomId, Seq};

/// Longest wait for a missing message before storage is asked.
pub const HOLD_FOR: Duration = Duration::from_millis(250);

/// Most messages held per room; past that the wait is given up at once.
pub const HOLD_MAX: usize = 64;

/// Held messages, per room, by `seq`.
#[derive(Debug)]
pub struct Early<T> {
    rooms: HashMap<RoomId, Held<T>>,
}

#[derive(Debug)]
struct Held<T> {
    since: Instant,
    messages: BTreeMap<Seq, T>,
}

impl<T> Default for Early<T> {
    fn default() -> Self {
        Self {
            rooms: HashMap::new(),
        }
    }
}

impl<T> Early<T> {
    /// Holds `message` (`seq` of `room`). False when the room now holds more than [`HOLD_MAX`]:
    /// the caller should stop waiting and [`Self::take`] them all.
    pub fn hold(&mut self, room: RoomId, seq: Seq, message: T, now: Instant) -> bool {
        let held = self.rooms.entry(room).or_insert_with(|| Held {
            since: now,
            messages: BTreeMap::new(),
        });
        held.messages.insert(seq, message);
        held.messages.len() <= HOLD_MAX
    }

    /// The held messages of `room` that come right after `head`, in order.
    pub fn next_after(&mut self, room: RoomId, head: Seq) -> Vec<T> {
        let Some(held) = self.rooms.get_mut(&room) else {
            return Vec::new();
        };
        let mut ready = Vec::new();
        let mut expected = head.next();
        while let Some(entry) = held.messages.first_entry() {
            if *entry.key() > expected {
                break;
            }
            // At or below the expected seq: its turn (or a duplicate the caller will ignore).
            expected = entry.key().next().max(expected);
            ready.push(entry.remove());
        }
        if held.messages.is_empty() {
            self.rooms.remove(&room);
        }
        ready
    }

    /// Everything held for `room`, in order.
    pub fn take(&mut self, room: RoomId) -> Vec<T> {
        self.rooms
            .remove(&room)
            .map(|held| held.messages.into_values().collect())
            .unwrap_or_default()
    }

    /// Rooms whose oldest held message has waited [`HOLD_FOR`] by `now`.
    pub fn overdue(&self, now: Instant) -> Vec<RoomId> {
        self.rooms
            .iter()
            .filter(|(_, held)| now.duration_since(held.since) >= HOLD_FOR)
            .map(|(room, _)| *room)
            .collect()
    }

    /// When the oldest wait runs out (a room becomes [`Self::overdue`]), if anything is held.
    pub fn due(&self) -> Option<Instant> {
        self.rooms.values().map(|held| held.since + HOLD_FOR).min()
    }

    /// Whether anything is held.
    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(id: i64) -> RoomId {
        RoomId::new(id).unwrap()
    }

    fn seq(n: i64) -> Seq {
        Seq::new(n).unwrap()
    }

    #[test]
    fn held_messages_come_out_in_order_once_the_missing_one_is_handled() {
        let mut early = Early::default();
        let now = Instant::now();
        assert!(early.hold(room(1), seq(13), "m13", now));
        assert!(early.hold(room(1), seq(12), "m12", now));
        assert!(early.hold(room(1), seq(15), "m15", now));
        // Message 11 was handled: 12 and 13 follow; 15 waits for 14.
        assert_eq!(early.next_after(room(1), seq(11)), vec!["m12", "m13"]);
        assert_eq!(early.next_after(room(1), seq(13)), Vec::<&str>::new());
        assert_eq!(early.next_after(room(1), seq(14)), vec!["m15"]);
        assert!(early.is_empty());
    }

    #[test]
    fn rooms_are_held_apart() {
        let mut early = Early::default();
        let now = Instant::now();
        early.hold(room(1), seq(3), "a3", now);
        early.hold(room(2), seq(3), "b3", now);
        assert_eq!(early.next_after(room(2), seq(2)), vec!["b3"]);
        assert_eq!(early.take(room(1)), vec!["a3"]);
        assert!(early.is_empty());
    }

    #[test]
    fn a_wait_is_overdue_after_hold_for_and_a_full_room_says_so() {
        let mut early = Early::default();
        let start = Instant::now();
        early.hold(room(1), seq(5), 5, start);
        assert_eq!(early.due(), Some(start + HOLD_FOR));
        assert!(early.overdue(start + HOLD_FOR / 2).is_empty());
        assert_eq!(early.overdue(start + HOLD_FOR), vec![room(1)]);
        let mut full = Early::default();
        let fits = (0..=HOLD_MAX as i64).map(|n| full.hold(room(1), seq(10 + n), n, start));
        assert_eq!(fits.filter(|fit| !fit).count(), 1);
        assert_eq!(full.take(room(1)).len(), HOLD_MAX + 1);
    }

    #[test]
    fn duplicates_below_the_head_are_released_for_the_caller_to_drop() {
        let mut early = Early::default();
        let now = Instant::now();
        early.hold(room(1), seq(4), "old", now);
        early.hold(room(1), seq(9), "m9", now);
        assert_eq!(early.next_after(room(1), seq(7)), vec!["old"]);
        assert_eq!(early.next_after(room(1), seq(8)), vec!["m9"]);
    }
}
