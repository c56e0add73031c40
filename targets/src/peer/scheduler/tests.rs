//! Unit tests of the scheduler policy: bounds, rarest first, endgame, avoidance, pacing.

use super::*;

fn some(len: usize, indexes: &[usize]) -> Have {
    let mut set = ChunkSet::empty(len);
    for i in indexes {
        set.insert(*i);
    }
    Have::Some(set)
}

#[test]
fn respects_per_peer_bound_and_holdings() {
    let mut s = Scheduler::new(10, 3, 7);
    s.set_have(&1u32, &some(10, &[0, 1]));
    s.set_have(&2u32, &Have::All);
    let picks = s.next_requests(Instant::now());
    assert_eq!(picks.iter().filter(|(p, _)| *p == 1).count(), 2);
    assert_eq!(
        picks.iter().filter(|(p, _)| *p == 2).count(),
        pace::UNKNOWN_LIMIT,
        "a peer whose rate is unknown gets a short pipeline"
    );
    for (p, i) in &picks {
        if *p == 1 {
            assert!(*i < 2);
        }
    }
    // No chunk is requested twice outside the endgame.
    let mut indexes: Vec<_> = picks.iter().map(|(_, i)| *i).collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), picks.len());
    assert!(
        s.next_requests(Instant::now()).is_empty(),
        "every slot is busy"
    );
}

#[test]
fn requests_follow_the_measured_rates() {
    let mut s = Scheduler::new(64, 4, 5);
    s.set_have(&1u32, &Have::All);
    s.set_have(&2u32, &Have::All);
    let start = Instant::now();
    let count =
        |picks: &[(u32, usize)], peer: u32| picks.iter().filter(|(p, _)| *p == peer).count();
    let picks = s.next_requests(start);
    assert_eq!((count(&picks, 1), count(&picks, 2)), (2, 2));
    // Peer 1 answers within 20 ms, peer 2 takes a second per chunk.
    let slow = start + std::time::Duration::from_secs(1);
    for (p, i) in picks {
        let at = if p == 1 {
            start + std::time::Duration::from_millis(20)
        } else {
            slow
        };
        assert!(s.completed(&p, i, at));
    }
    let picks = s.next_requests(slow);
    assert_eq!(
        (count(&picks, 1), count(&picks, 2)),
        (4, 1),
        "the fast peer gets the most requests, up to the bound"
    );
}

#[test]
fn the_last_fresh_chunks_go_to_the_fastest_peer() {
    // Ten chunks; a slow peer 1 (a busy fellow downloader) and a fast peer 2 (the seed)
    // both hold all of them. After a first round (two requests each, one second against
    // 10 ms), six chunks are missing (more than the endgame's) and the fast peer may take
    // eight: it gets all six, whichever peer the random rotation starts with.
    let start = Instant::now();
    let later = start + std::time::Duration::from_secs(2);
    for seed in 0..8 {
        let mut s = Scheduler::new(10, 8, seed);
        s.set_have(&1u32, &Have::All);
        s.set_have(&2u32, &Have::All);
        for (p, i) in s.next_requests(start) {
            let took = if p == 1 { 1000 } else { 10 };
            assert!(s.completed(&p, i, start + std::time::Duration::from_millis(took)));
        }
        assert_eq!(s.done_count(), 4);
        let picks = s.next_requests(later);
        assert_eq!(picks.len(), 6, "rotation seed {seed}: {picks:?}");
        assert!(
            picks.iter().all(|(p, _)| *p == 2),
            "rotation seed {seed}: {picks:?}"
        );
    }
}

#[test]
fn rarest_first() {
    let mut s = Scheduler::new(4, 1, 3);
    s.set_have(&1u32, &Have::All);
    s.set_have(&2u32, &some(4, &[0, 1, 2]));
    s.set_have(&3u32, &some(4, &[0, 1]));
    // Chunk 3 is held by peer 1 only, chunk 2 by peers 1 and 2.
    let picks = s.next_requests(Instant::now());
    assert!(picks.contains(&(1, 3)), "{picks:?}");
    assert!(picks.contains(&(2, 2)), "{picks:?}");
}

#[test]
fn downloads_complete_and_duplicates_are_ignored() {
    let mut s = Scheduler::new(5, 2, 11);
    s.set_have(&1u32, &Have::All);
    let mut rounds = 0;
    while !s.is_complete() {
        rounds += 1;
        assert!(rounds < 10);
        for (p, i) in s.next_requests(Instant::now()) {
            assert!(s.completed(&p, i, Instant::now()));
        }
    }
    assert_eq!(s.done_count(), 5);
    assert!(!s.completed(&1, 0, Instant::now()));
    assert!(s.next_requests(Instant::now()).is_empty());
}

#[test]
fn corrupt_and_failing_peers_are_avoided() {
    let mut s = Scheduler::new(6, 1, 5);
    s.set_have(&1u32, &Have::All);
    s.set_have(&2u32, &Have::All);
    let picks = s.next_requests(Instant::now());
    let (_, bad_index) = picks.iter().find(|(p, _)| *p == 2).copied().unwrap();
    s.rejected(&2, bad_index);
    assert!(s.is_banned(&2));
    assert_eq!(s.usable_peers(), 1);
    // The rejected chunk goes back to the pool and only peer 1 is asked from now on.
    let mut seen = Vec::new();
    for (p, i) in picks.iter().filter(|(p, _)| *p == 1) {
        s.completed(p, *i, Instant::now());
        seen.push(*i);
    }
    let mut rounds = 0;
    while !s.is_complete() {
        rounds += 1;
        assert!(rounds < 10);
        for (p, i) in s.next_requests(Instant::now()) {
            assert_eq!(p, 1);
            seen.push(i);
            s.completed(&p, i, Instant::now());
        }
    }
    assert!(seen.contains(&bad_index));

    let mut s = Scheduler::new(3, 1, 5);
    s.set_have(&9u32, &Have::All);
    let (p, i) = s.next_requests(Instant::now())[0];
    assert!(!s.failed(&p, i));
    let (p, i) = s.next_requests(Instant::now())[0];
    assert!(s.failed(&p, i), "banned after {MAX_FAILURES} failures");
    assert!(s.next_requests(Instant::now()).is_empty());
}

#[test]
fn endgame_duplicates_stalled_requests() {
    let mut s = Scheduler::new(2, 4, 1);
    s.set_have(&1u32, &Have::All);
    let first = s.next_requests(Instant::now());
    assert_eq!(first.len(), 2, "peer 1 takes both chunks");
    // Peer 2 arrives while both chunks are in flight at peer 1 (which stalls).
    s.set_have(&2u32, &Have::All);
    assert!(
        s.next_requests(Instant::now()).is_empty(),
        "no copy before ENDGAME_COPY_AFTER"
    );
    let later = Instant::now() + ENDGAME_COPY_AFTER;
    let dup = s.next_requests(later);
    assert_eq!(dup.len(), 2);
    assert!(dup.iter().all(|(p, _)| *p == 2));
    // No third copy.
    s.set_have(&3u32, &Have::All);
    assert!(s.next_requests(later).is_empty());
    for (p, i) in dup {
        assert!(s.completed(&p, i, Instant::now()));
    }
    assert!(s.is_complete());
    // The stalled answers, if they ever come, are duplicates.
    assert!(!s.completed(&1, 0, Instant::now()));
}

#[test]
fn the_losers_of_an_endgame_race_are_cancelled_without_blame() {
    let mut s = Scheduler::new(2, 4, 1);
    s.set_have(&1u32, &Have::All);
    assert_eq!(s.next_requests(Instant::now()).len(), 2);
    s.set_have(&2u32, &Have::All);
    let dup = s.next_requests(Instant::now() + ENDGAME_COPY_AFTER);
    let (winner, index) = dup[0];
    assert!(s.completed(&winner, index, Instant::now()));
    assert_eq!(
        s.cancel_others(index),
        vec![1],
        "peer 1 still had it queued"
    );
    assert!(s.cancel_others(index).is_empty());
    // The cancelled request failing later is not held against peer 1.
    for _ in 0..MAX_FAILURES {
        assert!(!s.failed(&1, index));
    }
    assert!(s.is_usable(&1));
}

#[test]
fn partial_peers_are_refreshed_and_holdings_only_grow() {
    let mut s = Scheduler::new(3, 2, 1);
    s.set_have(&1u32, &some(3, &[0]));
    s.set_have(&1u32, &some(3, &[]));
    assert_eq!(s.peers_to_refresh(Instant::now()), vec![1]);
    let picks = s.next_requests(Instant::now());
    assert_eq!(picks, vec![(1, 0)]);
    assert!(
        s.peers_to_refresh(Instant::now()).is_empty(),
        "busy peers are not refreshed"
    );
    s.missing(&1, 0);
    s.set_have(&1u32, &Have::All);
    assert!(s.peers_to_refresh(Instant::now()).is_empty());
    assert_eq!(s.next_requests(Instant::now()).len(), 2);
}

#[test]
fn busy_peers_are_left_alone_until_their_back_off_ends() {
    let mut s = Scheduler::new(4, 2, 9);
    s.set_have(&1u32, &Have::All);
    let now = Instant::now();
    let picks = s.next_requests(now);
    assert_eq!(picks.len(), 2);
    for (p, i) in picks {
        s.busy(&p, i, now);
    }
    assert!(s.next_requests(now).is_empty());
    assert!(
        s.peers_to_refresh(now).is_empty(),
        "no questions while backing off"
    );
    let ms = std::time::Duration::from_millis;
    assert!(s.next_requests(now + ms(140)).is_empty());
    // One back-off (both answers came together): 150 ms plus at most 50%.
    let later = now + ms(230);
    let picks = s.next_requests(later);
    assert_eq!(picks.len(), 2);
    // "Busy" again: the back-off doubles (300 to 450 ms).
    for (p, i) in picks {
        s.busy(&p, i, later);
    }
    assert!(s.next_requests(later + ms(290)).is_empty());
    let again = later + ms(460);
    let (p, i) = s.next_requests(again)[0];
    // A delivered chunk ends the streak.
    assert!(s.completed(&p, i, again));
    let picks = s.next_requests(again);
    let (p, i) = picks[0];
    s.busy(&p, i, again);
    assert!(!s.next_requests(again + ms(230)).is_empty());
}

#[test]
fn different_seeds_spread_first_requests() {
    let firsts: std::collections::HashSet<usize> = (0..20u64)
        .map(|seed| {
            let mut s = Scheduler::new(16, 1, seed * 7919 + 1);
            s.set_have(&1u32, &Have::All);
            s.next_requests(Instant::now())[0].1
        })
        .collect();
    assert!(firsts.len() > 4, "{firsts:?}");
}

#[test]
fn a_stale_request_is_withdrawn_for_an_idle_faster_peer_and_only_once() {
    // 24 chunks. Peers 1 and 3-7 (busy fellow downloaders) hold them all and answer in
    // 400 ms; peer 2 (the seed) answers in 5 ms but is first known to hold chunks 0 and 1
    // only.
    let start = Instant::now();
    let ms = std::time::Duration::from_millis;
    let slow = [1u32, 3, 4, 5, 6, 7];
    let mut s = Scheduler::new(24, 8, 3);
    for p in slow {
        s.set_have(&p, &Have::All);
    }
    s.set_have(&2u32, &some(24, &[0, 1]));
    for (p, i) in s.next_requests(start) {
        let took = if p == 2 { 5 } else { 400 };
        assert!(s.completed(&p, i, start + ms(took)));
    }
    // Peer 2 has nothing fresh: the slow peers get requests, which wait.
    let t1 = start + ms(500);
    let mut at_slow: Vec<usize> = s
        .next_requests(t1)
        .into_iter()
        .map(|(p, i)| {
            assert!(slow.contains(&p));
            i
        })
        .collect();
    at_slow.sort_unstable();
    // Peer 2 turns out to hold everything: it takes what is left and is idle again.
    s.set_have(&2u32, &Have::All);
    for (p, i) in s.next_requests(t1) {
        assert_eq!(p, 2);
        assert!(s.completed(&p, i, t1 + ms(5)));
    }
    assert_eq!(s.done_count() + at_slow.len(), 24);
    assert!(
        at_slow.len() > ENDGAME_MISSING,
        "not the endgame: {at_slow:?}"
    );
    assert!(
        s.stale_requests(t1 + ms(900)).is_empty(),
        "not stale before STALE_AFTER"
    );
    let later = t1 + STALE_AFTER + ms(1);
    let withdrawn = s.stale_requests(later);
    assert!(!withdrawn.is_empty());
    assert!(withdrawn
        .iter()
        .all(|(p, i)| slow.contains(p) && at_slow.contains(i)));
    assert!(
        s.stale_requests(later + STALE_CHECK_EVERY).is_empty(),
        "withdrawn once"
    );
    // Still requested while the cancels are on their way: nothing new for peer 2 yet.
    assert!(s.next_requests(later).is_empty());
    // The slow peers answer "cancelled": those chunks go to peer 2.
    for (p, i) in &withdrawn {
        assert!(s.withdrawn(p, *i));
        assert!(!s.withdrawn(p, *i), "forgotten");
    }
    let mut again: Vec<(u32, usize)> = s.next_requests(later);
    again.sort_unstable();
    let mut expected: Vec<(u32, usize)> = withdrawn.iter().map(|(_, i)| (2, *i)).collect();
    expected.sort_unstable();
    assert_eq!(again, expected);
}

#[test]
fn no_withdrawal_while_the_faster_peer_has_fresh_chunks() {
    let start = Instant::now();
    let ms = std::time::Duration::from_millis;
    let mut s = Scheduler::new(64, 2, 9);
    s.set_have(&1u32, &Have::All);
    s.set_have(&2u32, &Have::All);
    for (p, i) in s.next_requests(start) {
        let took = if p == 1 { 400 } else { 5 };
        assert!(s.completed(&p, i, start + ms(took)));
    }
    let t1 = start + ms(500);
    let picks = s.next_requests(t1);
    assert!(picks.iter().any(|(p, _)| *p == 1), "{picks:?}");
    // Peer 2's slots are full, and plenty of fresh chunks remain: peer 1 keeps its requests.
    assert!(s.stale_requests(t1 + STALE_AFTER * 2).is_empty());
}

#[test]
fn in_the_endgame_a_request_is_withdrawn_at_once_and_copied_only_later() {
    // 3 chunks. Peer 1 holds all and gets chunks 1 and 2; peer 2 (fast) first holds
    // chunk 0 only, serves it in 5 ms, then turns out to hold everything.
    let start = Instant::now();
    let ms = std::time::Duration::from_millis;
    let mut s = Scheduler::new(3, 8, 1);
    s.set_have(&1u32, &Have::All);
    s.set_have(&2u32, &some(3, &[0]));
    let mut first = s.next_requests(start);
    first.sort_unstable();
    assert_eq!(first, vec![(1, 1), (1, 2), (2, 0)]);
    assert!(s.completed(&2, 0, start + ms(5)));
    s.set_have(&2u32, &Have::All);
    let t = start + ms(100);
    assert!(
        s.next_requests(t).is_empty(),
        "the endgame copies nothing before ENDGAME_COPY_AFTER"
    );
    let mut withdrawn = s.stale_requests(t);
    withdrawn.sort_unstable();
    assert_eq!(
        withdrawn,
        vec![(1, 1), (1, 2)],
        "withdrawn at once, not after STALE_AFTER"
    );
    // Chunk 1 was still queued at peer 1: cancelled there, and asked again.
    assert!(s.withdrawn(&1, 1));
    assert!(s.next_requests(t).iter().any(|&(_, i)| i == 1));
    // Peer 1 never answers for chunk 2 (stalled): copied once it has waited long enough.
    assert!(s
        .next_requests(start + ENDGAME_COPY_AFTER - ms(1))
        .is_empty());
    assert_eq!(s.next_requests(start + ENDGAME_COPY_AFTER), vec![(2, 2)]);
}
