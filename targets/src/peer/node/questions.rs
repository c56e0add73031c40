//! The swarm task's side of the chunk protocol's questions (manifest, holdings): answer
//! those that arrive, naming fellow downloaders when asked ([`super::super::exchange`]),
//! and hand the answers to this node's own questions back to who asked, after keeping the
//! addresses of the fellows they name.

use libp2p::request_response::{self, Message};

use super::super::codec::Response;
use super::super::exchange::{Answered, Question};
use super::super::serve::answer_question;
use super::Node;

impl Node {
    pub(super) fn on_chunks(&mut self, event: request_response::Event<Question, Answered>) {
        match event {
            request_response::Event::Message { message, peer, .. } => match message {
                Message::Request {
                    request, channel, ..
                } => {
                    let Question {
                        ask,
                        fellows_wanted,
                    } = request;
                    let object = ask.request.object();
                    // Block requests belong on a pipe: one here is answered "not found".
                    let response = answer_question(&self.holdings, &self.metrics, peer, ask)
                        .unwrap_or(Response::NotFound);
                    let fellows = match response {
                        Response::Manifest(..) | Response::Have(_) if fellows_wanted > 0 => {
                            let book = &self.swarm.behaviour().addresses;
                            self.holdings
                                .fellows(&object, &peer, fellows_wanted, |p| book.address(p))
                        }
                        _ => Vec::new(),
                    };
                    self.metrics.fellows_named.add(fellows.len() as u64);
                    let answer = Answered { response, fellows };
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .chunks
                        .send_response(channel, answer);
                }
                Message::Response {
                    request_id,
                    response,
                } => {
                    let Answered { response, fellows } = response;
                    let me = self.peer_id();
                    let mut named = Vec::with_capacity(fellows.len());
                    for fellow in fellows {
                        if fellow.peer != me {
                            named.push(fellow.peer);
                            self.swarm
                                .behaviour_mut()
                                .addresses
                                .hint(fellow.peer, fellow.addr);
                        }
                    }
                    if let Some(reply) = self.pending.remove(&request_id) {
                        let _ = reply.send(Ok((response, named)));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(format!("request to peer {peer} failed: {error}")));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, "answering a chunk-protocol question failed: {error}");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}
