//! Peer exchange: a peer's answer to a manifest question names the fellow downloaders
//! that asked it about the object, each with the address it listens on, checked against
//! the addresses those peers printed in their ready lines. A bare libp2p client asks, as
//! any downloader would, over the real chunk protocol.

mod peer_support;

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt as _;
use hyper::StatusCode;
use libp2p::request_response::{self, Message, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use peer_support::hostile::split;
use peer_support::{metric, sample, TestPeer};
use versus_targets::content::ObjectId;
use versus_targets::peer::codec::{Ask, ChunkCodec, Request, Response, PROTOCOL};
use versus_targets::peer::exchange::{Answered, Fellow, Question, MAX_FELLOWS};
use versus_targets::peer::PeerArgs;

/// A client that speaks only the chunk protocol's questions.
fn question_client() -> Swarm<request_response::Behaviour<ChunkCodec>> {
    libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("a TCP transport")
        .with_behaviour(|_| {
            request_response::Behaviour::with_codec(
                ChunkCodec,
                [(PROTOCOL, ProtocolSupport::Outbound)],
                request_response::Config::default(),
            )
        })
        .expect("a request-response behaviour")
        .build()
}

/// Asks the peer at `target` for the manifest of `id`, wanting `fellows` named.
async fn ask_manifest(
    client: &mut Swarm<request_response::Behaviour<ChunkCodec>>,
    target: &Multiaddr,
    id: ObjectId,
    fellows: u8,
) -> Answered {
    let (addr, peer) = split(target);
    client.add_peer_address(peer, addr.clone());
    client.dial(target.clone()).ok();
    let question = Question {
        ask: Ask {
            request: Request::Manifest(id),
            have: None,
        },
        fellows_wanted: fellows,
    };
    let sent = client.behaviour_mut().send_request(&peer, question);
    let answer = async {
        loop {
            match client.select_next_some().await {
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message:
                        Message::Response {
                            request_id,
                            response,
                        },
                    ..
                }) if request_id == sent => return response,
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                    error, ..
                }) => panic!("the question to {target} failed: {error}"),
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), answer)
        .await
        .expect("an answer within 30 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_answer_names_the_fellow_downloaders_at_their_listen_addresses() {
    let seed = TestPeer::spawn(PeerArgs::default());
    let bytes = sample(256 << 10, 3);
    let id_text = seed.publish(bytes).await;
    let id: ObjectId = id_text.parse().expect("an object id");
    let fellows: Vec<TestPeer> = (0..2)
        .map(|_| TestPeer::joining(&seed, PeerArgs::default()))
        .collect();
    for fellow in &fellows {
        let (status, stats) = fellow.fetch(&id_text).await;
        assert_eq!(status, StatusCode::OK, "{stats}");
    }

    let mut client = question_client();
    let answered = ask_manifest(&mut client, &seed.addr, id, MAX_FELLOWS).await;
    assert!(
        matches!(answered.response, Response::Manifest(..)),
        "{:?}",
        answered.response
    );
    let named: HashSet<Fellow> = answered.fellows.iter().cloned().collect();
    let expected: Vec<Fellow> = fellows
        .iter()
        .map(|f| Fellow {
            peer: f.peer_id,
            addr: split(&f.addr).0,
        })
        .collect();
    // The first downloader had the seed alone to ask; the second may have taken
    // everything from the first.
    assert!(
        named.contains(&expected[0]),
        "the seed names the first downloader at its ready-line address: {named:?}"
    );
    assert!(
        named.iter().all(|f| expected.contains(f)),
        "every peer named is a downloader, at its ready-line address: {named:?}"
    );

    // The client asked too: asking again names it nowhere, and no names are sent to an
    // asker that wants none.
    let me: PeerId = *client.local_peer_id();
    let again = ask_manifest(&mut client, &seed.addr, id, MAX_FELLOWS).await;
    assert!(again.fellows.iter().all(|f| f.peer != me), "{again:?}");
    assert_eq!(again.fellows.len(), named.len(), "{again:?}");
    let none = ask_manifest(&mut client, &seed.addr, id, 0).await;
    assert!(none.fellows.is_empty(), "{none:?}");
    // The seed counted what it named.
    let named_total = metric(&seed.metrics().await, "versus_fellows_named_total");
    assert!(named_total >= 2.0 * named.len() as f64, "{named_total}");
}
