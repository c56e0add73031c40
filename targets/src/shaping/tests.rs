//! Tests of the shaper: caps, latency, jitter, routes, shared caps, byte counting.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

#[tokio::test]
async fn unshaped_stream_counts_bytes() {
    let shaper = Shaper::unshaped();
    let (a, mut b) = tokio::io::duplex(1 << 16);
    let mut a = shaper.wrap(a);
    a.write_all(b"hello").await.unwrap();
    let mut got = [0u8; 5];
    b.read_exact(&mut got).await.unwrap();
    b.write_all(b"abc").await.unwrap();
    let mut back = [0u8; 3];
    a.read_exact(&mut back).await.unwrap();
    assert_eq!(
        (shaper.counters().written(), shaper.counters().read()),
        (5, 3)
    );
}

#[tokio::test(start_paused = true)]
async fn upload_cap_paces_writes() {
    let shaper = Shaper::new(&NetProfile {
        upload: Some(ByteRate(100_000)),
        ..NetProfile::default()
    });
    let (a, mut b) = tokio::io::duplex(1 << 20);
    let mut a = shaper.wrap(a);
    let reader = tokio::spawn(async move {
        let mut sink = Vec::new();
        b.read_to_end(&mut sink).await.map(|_| sink.len())
    });
    let start = Instant::now();
    a.write_all(&vec![7u8; 200_000]).await.unwrap();
    a.shutdown().await.unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(reader.await.unwrap().unwrap(), 200_000);
    // 2 s minus one 5 KB burst.
    assert!((1.9..2.1).contains(&elapsed), "took {elapsed}s");
}

#[tokio::test(start_paused = true)]
async fn download_cap_paces_reads() {
    let shaper = Shaper::new(&NetProfile {
        download: Some(ByteRate(50_000)),
        ..NetProfile::default()
    });
    let (a, mut b) = tokio::io::duplex(1 << 20);
    let mut a = shaper.wrap(a);
    b.write_all(&vec![1u8; 100_000]).await.unwrap();
    drop(b);
    let start = Instant::now();
    let mut sink = Vec::new();
    a.read_to_end(&mut sink).await.unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(sink.len(), 100_000);
    assert!((1.9..2.1).contains(&elapsed), "took {elapsed}s");
    assert_eq!(shaper.counters().read(), 100_000);
}

#[tokio::test(start_paused = true)]
async fn latency_delays_without_reducing_throughput() {
    let shaper = Shaper::new(&NetProfile {
        latency: Duration::from_millis(25),
        ..NetProfile::default()
    });
    let (a, mut b) = tokio::io::duplex(1 << 20);
    let mut a = shaper.wrap(a);
    let start = Instant::now();
    a.write_all(b"ping").await.unwrap();
    a.flush().await.unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(1),
        "writes must not block"
    );
    let mut got = [0u8; 4];
    b.read_exact(&mut got).await.unwrap();
    let first = start.elapsed();
    assert_eq!(first, Duration::from_millis(25));
    // Ten back-to-back writes arrive together, one latency later, not ten latencies.
    let start = Instant::now();
    for _ in 0..10 {
        a.write_all(&[9u8; 1000]).await.unwrap();
    }
    a.shutdown().await.unwrap();
    let mut rest = Vec::new();
    b.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest.len(), 10_000);
    assert!(
        start.elapsed() < Duration::from_millis(30),
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn jitter_spreads_delays_around_the_latency_without_reordering() {
    let shaper = Shaper::new(&NetProfile {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(10),
        ..NetProfile::default()
    });
    let (a, mut b) = tokio::io::duplex(1 << 20);
    let mut a = shaper.wrap(a);
    let mut delays = Vec::new();
    for i in 0..40u8 {
        let start = Instant::now();
        a.write_all(&[i]).await.unwrap();
        let mut got = [0u8; 1];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(got[0], i, "in order");
        delays.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let (min, max) = delays
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), d| (lo.min(*d), hi.max(*d)));
    // 20 ms ± 10 ms, one piece at a time (none waits behind another).
    assert!(min >= 9.9 && max <= 30.1, "{delays:?}");
    assert!(max - min > 8.0, "the delays vary: {delays:?}");
    let mean = delays.iter().sum::<f64>() / delays.len() as f64;
    assert!((15.0..25.0).contains(&mean), "mean {mean} ms");
    // Back-to-back pieces never overtake one another.
    for i in 0..50u8 {
        a.write_all(&[i]).await.unwrap();
    }
    let mut rest = [0u8; 50];
    b.read_exact(&mut rest).await.unwrap();
    assert!(rest.iter().enumerate().all(|(i, v)| *v == i as u8));
}

#[tokio::test(start_paused = true)]
async fn an_outbound_route_delays_both_directions_and_others_not() {
    let route: LatencyRoute = "127.10.1.0/24=40ms,10ms".parse().unwrap();
    let shaper = Shaper::unshaped().with_routes(&[route]);
    let (a, mut b) = tokio::io::duplex(1 << 16);
    let mut a = shaper.wrap_outbound(a, "127.10.1.1".parse().unwrap());
    let start = Instant::now();
    a.write_all(b"q").await.unwrap();
    let mut got = [0u8; 1];
    b.read_exact(&mut got).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(40));
    b.write_all(b"r").await.unwrap();
    a.read_exact(&mut got).await.unwrap();
    assert_eq!((got[0], start.elapsed()), (b'r', Duration::from_millis(50)));
    // Another region's address, and an accepted connection: nothing added.
    for outbound in [true, false] {
        let (a, mut b) = tokio::io::duplex(1 << 16);
        let mut a = if outbound {
            shaper.wrap_outbound(a, "127.10.2.1".parse().unwrap())
        } else {
            shaper.wrap(a)
        };
        let start = Instant::now();
        a.write_all(b"q").await.unwrap();
        b.read_exact(&mut got).await.unwrap();
        b.write_all(b"r").await.unwrap();
        a.read_exact(&mut got).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}

#[tokio::test(start_paused = true)]
async fn shared_cap_splits_between_streams() {
    let shaper = Shaper::new(&NetProfile {
        upload: Some(ByteRate(100_000)),
        ..NetProfile::default()
    });
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut a = shaper.wrap(a);
        tasks.push(tokio::spawn(async move {
            a.write_all(&vec![0u8; 100_000]).await?;
            a.shutdown().await?;
            let mut sink = Vec::new();
            b.read_to_end(&mut sink).await.map(|_| sink.len())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 100_000);
    }
    let elapsed = start.elapsed().as_secs_f64();
    assert!((1.9..2.1).contains(&elapsed), "took {elapsed}s");
}

#[tokio::test]
async fn a_shaper_can_count_into_another_ones_counters() {
    let shared = Shaper::unshaped();
    let user = Shaper::new(&NetProfile {
        download: Some(ByteRate(1 << 20)),
        ..NetProfile::default()
    })
    .counting_into(shared.counters());
    let (a, mut b) = tokio::io::duplex(1 << 16);
    let mut a = user.wrap(a);
    a.write_all(b"hello").await.unwrap();
    let mut got = [0u8; 5];
    b.read_exact(&mut got).await.unwrap();
    assert_eq!(shared.counters().written(), 5);
}
