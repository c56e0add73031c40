//! Block pipes between real libp2p swarms (TCP + Noise + Yamux on loopback): a pipe the
//! serving side drops before reading it is reopened and its requests still answered.

use std::time::Duration;

use futures::{AsyncReadExt as _, AsyncWriteExt as _, StreamExt as _};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, Swarm, SwarmBuilder};
use tokio::sync::{mpsc, watch};

use super::frame::{read_ask, write_answer};
use super::{Pipes, PROTOCOL};
use crate::content::ObjectId;
use crate::peer::codec::{Ask, Request, Response};

/// A swarm with only the stream behaviour, listening on loopback.
struct TestSwarm {
    peer: PeerId,
    addr: Multiaddr,
    control: libp2p_stream::Control,
    /// Addresses for its task to dial.
    dial: mpsc::UnboundedSender<Multiaddr>,
    /// Connections it has established so far.
    connected: watch::Receiver<usize>,
}

/// Starts a [`TestSwarm`], driven by a task of its own.
async fn start_swarm() -> TestSwarm {
    let mut swarm: Swarm<libp2p_stream::Behaviour> = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("a TCP transport")
        .with_behaviour(|_| libp2p_stream::Behaviour::new())
        .expect("a behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(30)))
        .build();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().expect("an address"))
        .expect("listens");
    let addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address;
        }
    };
    let peer = *swarm.local_peer_id();
    let control = swarm.behaviour().new_control();
    let (dial, mut dials) = mpsc::unbounded_channel::<Multiaddr>();
    let (count, connected) = watch::channel(0);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(addr) = dials.recv() => { let _ = swarm.dial(addr); }
                event = swarm.select_next_some() => {
                    if let SwarmEvent::ConnectionEstablished { .. } = event {
                        count.send_modify(|n| *n += 1);
                    }
                }
            }
        }
    });
    TestSwarm {
        peer,
        addr,
        control,
        dial,
        connected,
    }
}

fn block_ask(index: u32) -> Ask {
    Ask {
        request: Request::Block(ObjectId([9; 32]), index),
        have: None,
    }
}

#[tokio::test]
async fn a_pipe_dropped_before_it_was_accepted_is_reopened() {
    let mut server = start_swarm().await;
    // Accepting, but not taking streams yet: the one-slot hand-over channel fills with the
    // first pipe, and libp2p-stream drops the second.
    let mut incoming = server.control.accept(PROTOCOL).expect("accepts");
    let mut askers = Vec::new();
    for _ in 0..2 {
        let mut asker = start_swarm().await;
        asker.dial.send(server.addr.clone()).expect("dials");
        tokio::time::timeout(
            Duration::from_secs(10),
            asker.connected.wait_for(|n| *n > 0),
        )
        .await
        .expect("connected within 10 s")
        .expect("the swarm runs");
        askers.push(asker);
    }
    let server_id = server.peer;
    let requests: Vec<_> = askers
        .iter()
        .enumerate()
        .map(|(i, asker)| {
            let pipes = Pipes::new(asker.control.clone());
            tokio::spawn(async move { pipes.request(server_id, block_ask(i as u32)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Now serve every pipe: each request is answered "not found" under its tag.
    tokio::spawn(async move {
        while let Some((_, stream)) = incoming.next().await {
            tokio::spawn(async move {
                let (mut input, mut output) = stream.split();
                let mut named = None;
                while let Ok((tag, _)) = read_ask(&mut input, &mut named).await {
                    if write_answer(&mut output, tag, &Response::NotFound)
                        .await
                        .is_err()
                    {
                        return;
                    }
                    let _ = output.flush().await;
                }
            });
        }
    });
    for request in requests {
        let answer = tokio::time::timeout(Duration::from_secs(10), request)
            .await
            .expect("answered within 10 s")
            .expect("the task ran");
        assert_eq!(answer, Ok(Response::NotFound));
    }
}
