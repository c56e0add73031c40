//! Peer exchange: an answer to a manifest or holdings question may name a few **fellow
//! downloaders** of the object (peers that asked this node about it lately) with the
//! address each listens on, so downloads find each other through the swarm instead of
//! asking the DHT again and again.
//!
//! Why: in a large crowd every provider lookup goes to the same 20 DHT nodes, those
//! closest to the object's key. At N = 256 and 32 KiB/s uploads the busiest spent
//! 97-108 % of their upload on Kademlia answers, and most downloads of a 1,000-peer crowd
//! failed knowing the seed alone. Every downloader asks the seed (or another provider)
//! for the manifest anyway: the answer now carries the names (BitTorrent's PEX, BEP 11,
//! does the same over its peer wire).
//!
//! On the wire (`/versus/chunks/4`, request-response only; the block pipes never carry
//! names): a question is the [`Ask`] followed by `fellows wanted: u8`; an answer is the
//! [`Response`] followed by `count: u8` and, per fellow, `length: u8` | peer id bytes |
//! `length: u8` | multiaddr bytes. Every count and length is checked against a limit
//! before it is read. A named peer is only a hint: it is asked like any provider, and
//! whatever it sends is verified as usual.

use std::collections::{HashMap, VecDeque};
use std::io;

use futures::{AsyncRead, AsyncReadExt as _};
use libp2p::{Multiaddr, PeerId};
use rand::seq::SliceRandom as _;

use super::codec::{invalid, read_request, read_response, read_u8, Ask, Response};
use crate::content::ObjectId;

/// Fellows named in one answer, at most (and asked for in one question).
pub const MAX_FELLOWS: u8 = 8;
/// Longest peer id or multiaddr accepted in a named fellow, in bytes (an Ed25519 peer id
/// is 38, a TCP multiaddr 9-21).
const MAX_NAME_LEN: usize = 96;
/// Askers remembered per object (the most recent), at most.
const ASKERS_PER_OBJECT: usize = 64;
/// Objects whose askers are remembered, at most (the most recently asked about).
const OBJECTS_REMEMBERED: usize = 64;

/// A question on `/versus/chunks/4`: a manifest or holdings [`Ask`], and how many fellow
/// downloaders the asker would like named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// What is asked.
    pub ask: Ask,
    /// Fellows to name in the answer, at most (0: none).
    pub fellows_wanted: u8,
}

/// An answer on `/versus/chunks/4`: the [`Response`] and the fellows it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The answer.
    pub response: Response,
    /// Fellow downloaders of the object, with the address each listens on.
    pub fellows: Vec<Fellow>,
}

/// A peer named in an answer, and the address it listens on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fellow {
    /// The peer.
    pub peer: PeerId,
    /// Where it listens.
    pub addr: Multiaddr,
}

/// Encodes a question.
pub fn encode_question(question: &Question) -> Vec<u8> {
    let mut out = super::codec::encode_request(&question.ask);
    out.push(question.fellows_wanted);
    out
}

/// Reads a question.
pub async fn read_question<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<Question> {
    let ask = read_request(io).await?;
    let fellows_wanted = read_u8(io).await?;
    Ok(Question {
        ask,
        fellows_wanted,
    })
}

/// Encodes the fellows that follow an answer.
pub fn encode_fellows(out: &mut Vec<u8>, fellows: &[Fellow]) {
    let fellows = &fellows[..fellows.len().min(usize::from(MAX_FELLOWS))];
    out.push(fellows.len() as u8);
    for fellow in fellows {
        for name in [fellow.peer.to_bytes(), fellow.addr.to_vec()] {
            out.push(name.len() as u8);
            out.extend_from_slice(&name);
        }
    }
}

/// Reads an answer: the response, then the fellows it names.
pub async fn read_answered<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<Answered> {
    let response = read_response(io).await?;
    let count = read_u8(io).await?;
    if count > MAX_FELLOWS {
        return Err(invalid(format!(
            "{count} fellows named, more than the limit of {MAX_FELLOWS}"
        )));
    }
    let mut fellows = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let peer = PeerId::from_bytes(&read_name(io).await?)
            .map_err(|e| invalid(format!("a named fellow's peer id is not one: {e}")))?;
        let addr = Multiaddr::try_from(read_name(io).await?)
            .map_err(|e| invalid(format!("a named fellow's address is not a multiaddr: {e}")))?;
        fellows.push(Fellow { peer, addr });
    }
    Ok(Answered { response, fellows })
}

async fn read_name<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<Vec<u8>> {
    let len = usize::from(read_u8(io).await?);
    if len > MAX_NAME_LEN {
        return Err(invalid(format!(
            "a name of {len} bytes, more than the limit of {MAX_NAME_LEN}"
        )));
    }
    let mut name = vec![0u8; len];
    io.read_exact(&mut name).await?;
    Ok(name)
}

/// The peers that asked this node about each object lately: the fellows it can name.
#[derive(Debug, Default)]
pub struct RecentAskers {
    askers: HashMap<ObjectId, VecDeque<PeerId>>,
    /// Objects, least recently asked about first.
    order: VecDeque<ObjectId>,
}

impl RecentAskers {
    /// Notes that `peer` asked about `id`.
    pub fn note(&mut self, id: ObjectId, peer: PeerId) {
        if let Some(askers) = self.askers.get_mut(&id) {
            // A downloader's block requests come in runs: the asker is most often the
            // last one noted already (this runs on every block request a node serves).
            if askers.back() == Some(&peer) {
                return;
            }
            askers.retain(|p| *p != peer);
            if askers.len() >= ASKERS_PER_OBJECT {
                askers.pop_front();
            }
            askers.push_back(peer);
            return;
        }
        if self.order.len() >= OBJECTS_REMEMBERED {
            if let Some(oldest) = self.order.pop_front() {
                self.askers.remove(&oldest);
            }
        }
        self.order.push_back(id);
        self.askers.insert(id, VecDeque::from([peer]));
    }

    /// Up to `n` of the peers that asked about `id`, in random order, leaving out
    /// `asker` and those `address` knows no address of.
    pub fn pick(
        &self,
        id: &ObjectId,
        asker: &PeerId,
        n: u8,
        address: impl Fn(&PeerId) -> Option<Multiaddr>,
    ) -> Vec<Fellow> {
        let Some(askers) = self.askers.get(id) else {
            return Vec::new();
        };
        let mut candidates: Vec<&PeerId> = askers.iter().filter(|p| *p != asker).collect();
        candidates.shuffle(&mut rand::rng());
        candidates
            .into_iter()
            .filter_map(|peer| address(peer).map(|addr| Fellow { peer: *peer, addr }))
            .take(usize::from(n.min(MAX_FELLOWS)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::codec::{encode_response, Request};
    use crate::peer::have::Have;
    use futures::executor::block_on;

    fn addr(port: u16) -> Multiaddr {
        format!("/ip4/127.0.0.1/tcp/{port}")
            .parse()
            .expect("a multiaddr")
    }

    #[test]
    fn questions_and_answers_round_trip() {
        let question = Question {
            ask: Ask {
                request: Request::Have(ObjectId([7; 32])),
                have: Some(Have::All),
            },
            fellows_wanted: 5,
        };
        let encoded = encode_question(&question);
        assert_eq!(
            block_on(read_question(&mut &encoded[..])).ok(),
            Some(question)
        );

        let fellows: Vec<Fellow> = (0..3)
            .map(|i| Fellow {
                peer: PeerId::random(),
                addr: addr(4000 + i),
            })
            .collect();
        let mut encoded = encode_response(&Response::Have(Have::All));
        encode_fellows(&mut encoded, &fellows);
        let answered = block_on(read_answered(&mut &encoded[..])).expect("decodes");
        assert_eq!(answered.response, Response::Have(Have::All));
        assert_eq!(answered.fellows, fellows);
    }

    #[test]
    fn too_many_fellows_or_long_names_are_rejected() {
        let mut many = encode_response(&Response::NotFound);
        many.push(MAX_FELLOWS + 1);
        let err = block_on(read_answered(&mut &many[..])).expect_err("rejected");
        assert!(err.to_string().contains("more than the limit"), "{err}");

        let mut long = encode_response(&Response::NotFound);
        long.extend_from_slice(&[1, MAX_NAME_LEN as u8 + 1]);
        long.extend_from_slice(&[0; MAX_NAME_LEN + 1]);
        let err = block_on(read_answered(&mut &long[..])).expect_err("rejected");
        assert!(err.to_string().contains("a name of"), "{err}");

        let mut garbage = encode_response(&Response::NotFound);
        garbage.extend_from_slice(&[1, 3, 1, 2, 3]);
        let err = block_on(read_answered(&mut &garbage[..])).expect_err("rejected");
        assert!(err.to_string().contains("peer id"), "{err}");
    }

    #[test]
    fn askers_are_picked_without_the_asker_and_without_unknown_addresses() {
        let id = ObjectId([1; 32]);
        let mut askers = RecentAskers::default();
        let peers: Vec<PeerId> = (0..ASKERS_PER_OBJECT + 10)
            .map(|_| PeerId::random())
            .collect();
        for peer in &peers {
            askers.note(id, *peer);
        }
        // The oldest ten were forgotten; the last has no known address.
        let last = peers[peers.len() - 1];
        let known = |p: &PeerId| (*p != last).then(|| addr(1));
        let picked = askers.pick(&id, &peers[20], MAX_FELLOWS, known);
        assert_eq!(picked.len(), usize::from(MAX_FELLOWS));
        for fellow in &picked {
            let at = peers
                .iter()
                .position(|p| *p == fellow.peer)
                .expect("an asker");
            assert!(at >= 10 && fellow.peer != peers[20] && fellow.peer != last);
        }
        assert!(askers.pick(&ObjectId([2; 32]), &last, 4, known).is_empty());
        // Asking again moves a peer to the back instead of listing it twice.
        askers.note(id, peers[10]);
        assert_eq!(askers.askers[&id].len(), ASKERS_PER_OBJECT);
    }
}
