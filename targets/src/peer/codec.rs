//! The block-exchange messages. Manifest and holdings questions travel on libp2p
//! request-response, `/versus/chunks/4` (one request and one answer per stream, each
//! followed by the peer-exchange fields of [`super::exchange`]); block
//! requests, cancels and block answers travel, in the same encoding behind a tag, on the
//! block pipes ([`super::pipe`]).
//!
//! Wire format (integers little-endian):
//!
//! Request ([`Ask`]): `kind: u8` | `object id: 32 bytes` | `block index: u32` (block and
//! cancel requests only) | the asker's own holdings of the object (`2` = none, or the
//! holdings form below); kind 1 = manifest, 2 = have (which blocks do you hold), 3 =
//! block, 4 = cancel (drop my queued request for that block). Telling what the asker holds
//! costs a few bytes and lets a fellow downloader ask back at once, so holdings spread
//! along every request instead of waiting for a periodic question.
//!
//! Response: `kind: u8` then, for every kind but 5 and 7, the sender's holdings (`0` =
//! the whole object, or `1` | `block count: u32` | `ceil(count / 8)` bitmap bytes) and,
//! for kinds 1 and 3, `length: u32` | payload. Kind 1 = manifest (payload: its canonical
//! encoding, then a second `length: u32` | payload: the object's block hashes), 2 = have,
//! 3 = block (payload: the block's bytes), 4 = missing (the sender is still downloading
//! and lacks that block), 5 = not found (the sender knows nothing of the object), 6 = busy
//! (every upload slot is taken: ask someone else, or again later), 7 = cancelled (the
//! asker cancelled this request before it was served).
//!
//! Every length is checked against a limit before anything is allocated, and nothing read
//! here is trusted: the downloader verifies manifests against the id, block hashes
//! against the manifest, and blocks against the block hashes.

use std::io;

use bytes::Bytes;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

use super::exchange::{
    encode_fellows, encode_question, read_answered, read_question, Answered, Question,
};
use super::have::{ChunkSet, Have};
use crate::content::{ObjectId, BLOCK_SIZE};

/// The protocol name.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/versus/chunks/4");

/// Largest block count of an object exchanged (16 GiB in 16 KiB blocks); also the
/// largest a holdings bitmap may announce.
pub const MAX_BLOCKS: usize = 1 << 20;
/// Largest manifest accepted: the chunk hashes of a [`MAX_BLOCKS`] object, and more.
pub const MAX_MANIFEST_LEN: usize = 1 << 20;
/// Largest block-hash list accepted (32 bytes per block of a [`MAX_BLOCKS`] object).
pub const MAX_BLOCK_HASHES_LEN: usize = MAX_BLOCKS * 32;

/// What one peer asks another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// The manifest and block hashes of an object (and which blocks the other side holds).
    Manifest(ObjectId),
    /// Which blocks of an object the other side holds.
    Have(ObjectId),
    /// One block.
    Block(ObjectId, u32),
    /// Drop the asker's queued request for this block (it arrived from elsewhere).
    Cancel(ObjectId, u32),
}

impl Request {
    /// The object the request is about.
    pub fn object(&self) -> ObjectId {
        match self {
            Request::Manifest(id)
            | Request::Have(id)
            | Request::Block(id, _)
            | Request::Cancel(id, _) => *id,
        }
    }
}

/// A request as sent: what is asked, and what the asker holds of the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// What is asked.
    pub request: Request,
    /// The asker's holdings of the object (`None`: nothing, or not known yet).
    pub have: Option<Have>,
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The canonical manifest encoding, the block hashes, and what the sender holds.
    Manifest(Bytes, Bytes, Have),
    /// What the sender holds.
    Have(Have),
    /// The block's bytes (unverified until the receiver checks them), and what the sender
    /// holds, when it tells (a partial peer's block pipe tells one asker at most every
    /// [`TELL_HOLDINGS_EVERY`](super::fetch::TELL_HOLDINGS_EVERY)).
    Block(Bytes, Option<Have>),
    /// The sender lacks this block; what it holds.
    Missing(Have),
    /// The sender holds nothing of this object.
    NotFound,
    /// The sender's upload slots are all taken; what it holds.
    Busy(Have),
    /// The asker cancelled this request before it was served.
    Cancelled,
}

const REQ_MANIFEST: u8 = 1;
const REQ_HAVE: u8 = 2;
const REQ_BLOCK: u8 = 3;
const REQ_CANCEL: u8 = 4;
/// Set in a request's kind when the object id is left out: the object is the one the
/// stream named last (block pipes only, see [`encode_request_on_stream`]).
const SAME_OBJECT: u8 = 0x80;

const RES_MANIFEST: u8 = 1;
const RES_HAVE: u8 = 2;
const RES_BLOCK: u8 = 3;
const RES_MISSING: u8 = 4;
const RES_NOT_FOUND: u8 = 5;
const RES_BUSY: u8 = 6;
const RES_CANCELLED: u8 = 7;

const HAVE_ALL: u8 = 0;
const HAVE_SOME: u8 = 1;
const HAVE_NONE: u8 = 2;

pub(super) fn invalid(what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed {} message: {what}", PROTOCOL.as_ref()),
    )
}

/// Encodes a request.
pub fn encode_request(ask: &Ask) -> Vec<u8> {
    encode_request_on_stream(ask, &mut None)
}

/// Encodes a request on a stream that carries many (a block pipe): the object id goes
/// out only when it differs from the one `named` last on the stream, which it updates
/// (32 of the 42 bytes of a block request otherwise).
pub fn encode_request_on_stream(ask: &Ask, named: &mut Option<ObjectId>) -> Vec<u8> {
    let mut out = Vec::with_capacity(42);
    let (kind, id, index) = match &ask.request {
        Request::Manifest(id) => (REQ_MANIFEST, id, None),
        Request::Have(id) => (REQ_HAVE, id, None),
        Request::Block(id, index) => (REQ_BLOCK, id, Some(*index)),
        Request::Cancel(id, index) => (REQ_CANCEL, id, Some(*index)),
    };
    if *named == Some(*id) {
        out.push(kind | SAME_OBJECT);
    } else {
        out.push(kind);
        out.extend_from_slice(id.as_bytes());
        *named = Some(*id);
    }
    if let Some(index) = index {
        out.extend_from_slice(&index.to_le_bytes());
    }
    match &ask.have {
        None => out.push(HAVE_NONE),
        Some(have) => encode_have(&mut out, have),
    }
    out
}

fn encode_have(out: &mut Vec<u8>, have: &Have) {
    match have {
        Have::All => out.push(HAVE_ALL),
        Have::Some(set) => {
            out.push(HAVE_SOME);
            out.extend_from_slice(&(set.len() as u32).to_le_bytes());
            out.extend_from_slice(set.bits());
        }
    }
}

/// Reads a request.
pub async fn read_request<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<Ask> {
    read_request_on_stream(io, &mut None).await
}

/// Reads a request written by [`encode_request_on_stream`]; `named` is the object the
/// stream named last, which it updates.
pub async fn read_request_on_stream<T: AsyncRead + Unpin>(
    io: &mut T,
    named: &mut Option<ObjectId>,
) -> io::Result<Ask> {
    let kind = read_u8(io).await?;
    let id = if kind & SAME_OBJECT != 0 {
        named.ok_or_else(|| {
            invalid("a request for \"the same object\" before any object was named".into())
        })?
    } else {
        let mut id = [0u8; 32];
        io.read_exact(&mut id).await?;
        *named = Some(ObjectId(id));
        ObjectId(id)
    };
    let request = match kind & !SAME_OBJECT {
        REQ_MANIFEST => Request::Manifest(id),
        REQ_HAVE => Request::Have(id),
        REQ_BLOCK => Request::Block(id, read_u32(io).await?),
        REQ_CANCEL => Request::Cancel(id, read_u32(io).await?),
        other => return Err(invalid(format!("unknown request kind {other}"))),
    };
    let have = match read_u8(io).await? {
        HAVE_NONE => None,
        tag => Some(read_have_after(io, tag).await?),
    };
    Ok(Ask { request, have })
}

/// Encodes a response.
pub fn encode_response(res: &Response) -> Vec<u8> {
    let (mut out, payload) = encode_response_header(res);
    if let Some(payload) = payload {
        out.extend_from_slice(payload);
    }
    out
}

/// Encodes a response up to its last payload (which follows on the wire as it is).
pub fn encode_response_header(res: &Response) -> (Vec<u8>, Option<&Bytes>) {
    // Holdings: none in the kind (None), told (Some(Some)), or not told (Some(None)).
    let (kind, have, payload) = match res {
        Response::Manifest(_, hashes, have) => (RES_MANIFEST, Some(Some(have)), Some(hashes)),
        Response::Have(have) => (RES_HAVE, Some(Some(have)), None),
        Response::Block(bytes, have) => (RES_BLOCK, Some(have.as_ref()), Some(bytes)),
        Response::Missing(have) => (RES_MISSING, Some(Some(have)), None),
        Response::NotFound => (RES_NOT_FOUND, None, None),
        Response::Busy(have) => (RES_BUSY, Some(Some(have)), None),
        Response::Cancelled => (RES_CANCELLED, None, None),
    };
    let mut out = Vec::with_capacity(16);
    out.push(kind);
    match have {
        Some(Some(have)) => encode_have(&mut out, have),
        Some(None) => out.push(HAVE_NONE),
        None => {}
    }
    if let Response::Manifest(manifest, _, _) = res {
        out.extend_from_slice(&(manifest.len() as u32).to_le_bytes());
        out.extend_from_slice(manifest);
    }
    if let Some(payload) = payload {
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    }
    (out, payload)
}

/// Reads a response.
pub async fn read_response<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<Response> {
    let kind = read_u8(io).await?;
    match kind {
        RES_NOT_FOUND => return Ok(Response::NotFound),
        RES_CANCELLED => return Ok(Response::Cancelled),
        RES_MANIFEST..=RES_BUSY => {}
        _ => return Err(invalid(format!("unknown response kind {kind}"))),
    }
    let tag = read_u8(io).await?;
    if kind == RES_BLOCK && tag == HAVE_NONE {
        return Ok(Response::Block(
            read_payload(io, BLOCK_SIZE as usize).await?,
            None,
        ));
    }
    let have = read_have_after(io, tag).await?;
    Ok(match kind {
        RES_MANIFEST => {
            let manifest = read_payload(io, MAX_MANIFEST_LEN).await?;
            let hashes = read_payload(io, MAX_BLOCK_HASHES_LEN).await?;
            Response::Manifest(manifest, hashes, have)
        }
        RES_HAVE => Response::Have(have),
        RES_BLOCK => Response::Block(read_payload(io, BLOCK_SIZE as usize).await?, Some(have)),
        RES_BUSY => Response::Busy(have),
        _ => Response::Missing(have),
    })
}

async fn read_have_after<T: AsyncRead + Unpin>(io: &mut T, tag: u8) -> io::Result<Have> {
    match tag {
        HAVE_ALL => Ok(Have::All),
        HAVE_SOME => {
            let len = read_u32(io).await? as usize;
            if len > MAX_BLOCKS {
                return Err(invalid(format!(
                    "holdings of {len} blocks, more than the limit of {MAX_BLOCKS}"
                )));
            }
            let mut bits = vec![0u8; len.div_ceil(8)];
            io.read_exact(&mut bits).await?;
            ChunkSet::from_bits(len, bits)
                .map(Have::Some)
                .ok_or_else(|| invalid(format!("holdings bitmap sets bits past block {len}")))
        }
        other => Err(invalid(format!("unknown holdings kind {other}"))),
    }
}

/// Payload bytes allocated before any arrive: a whole block, the common case, in one
/// allocation. A longer payload (the block hashes of a large object) grows its buffer as
/// its bytes arrive, at most doubling what has been received, so a length prefix alone
/// never makes a peer allocate megabytes that are never sent.
const PREALLOCATE: usize = BLOCK_SIZE as usize;

async fn read_payload<T: AsyncRead + Unpin>(io: &mut T, limit: usize) -> io::Result<Bytes> {
    let len = read_u32(io).await? as usize;
    if len > limit {
        return Err(invalid(format!(
            "payload of {len} bytes, more than the limit of {limit}"
        )));
    }
    let mut buf = vec![0u8; len.min(PREALLOCATE)];
    io.read_exact(&mut buf).await?;
    while buf.len() < len {
        let received = buf.len();
        buf.resize(len.min(received * 2), 0);
        io.read_exact(&mut buf[received..]).await?;
    }
    Ok(Bytes::from(buf))
}

pub(super) async fn read_u8<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<u8> {
    let mut b = [0u8; 1];
    io.read_exact(&mut b).await?;
    Ok(b[0])
}

async fn read_u32<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<u32> {
    let mut b = [0u8; 4];
    io.read_exact(&mut b).await?;
    Ok(u32::from_le_bytes(b))
}

/// The request-response codec for [`PROTOCOL`]: questions and answers with their
/// peer-exchange fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChunkCodec;

#[async_trait::async_trait]
impl libp2p::request_response::Codec for ChunkCodec {
    type Protocol = StreamProtocol;
    type Request = Question;
    type Response = Answered;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Question>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_question(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Answered>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_answered(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Question,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&encode_question(&req)).await?;
        io.flush().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Answered,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        // The header, then the payload straight from its buffer: no copy of the hashes.
        let (header, payload) = encode_response_header(&res.response);
        io.write_all(&header).await?;
        if let Some(payload) = payload {
            io.write_all(payload).await?;
        }
        let mut fellows = Vec::new();
        encode_fellows(&mut fellows, &res.fellows);
        io.write_all(&fellows).await?;
        io.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    fn id(n: u8) -> ObjectId {
        ObjectId([n; 32])
    }

    fn round_trip_request(req: &Ask) -> Ask {
        let bytes = encode_request(req);
        block_on(read_request(&mut &bytes[..])).expect("decodes")
    }

    fn round_trip_response(res: &Response) -> Response {
        let bytes = encode_response(res);
        block_on(read_response(&mut &bytes[..])).expect("decodes")
    }

    #[test]
    fn requests_round_trip() {
        let mut some = ChunkSet::empty(11);
        some.insert(4);
        for request in [
            Request::Manifest(id(1)),
            Request::Have(id(2)),
            Request::Block(id(3), 77),
            Request::Cancel(id(4), 9),
        ] {
            for have in [None, Some(Have::All), Some(Have::Some(some.clone()))] {
                let ask = Ask { request, have };
                assert_eq!(round_trip_request(&ask), ask);
            }
        }
        let ask = Ask {
            request: Request::Block(id(3), 1),
            have: None,
        };
        assert_eq!(encode_request(&ask).len(), 38);
    }

    #[test]
    fn responses_round_trip() {
        let mut some = ChunkSet::empty(11);
        some.insert(3);
        some.insert(10);
        let responses = [
            Response::Manifest(
                Bytes::from_static(b"VSM1..."),
                Bytes::from(vec![3u8; 64]),
                Have::All,
            ),
            Response::Have(Have::Some(some.clone())),
            Response::Block(Bytes::from(vec![9u8; 1000]), Some(Have::Some(some.clone()))),
            Response::Block(Bytes::new(), Some(Have::All)),
            Response::Block(Bytes::from(vec![8u8; 100]), None),
            Response::Missing(Have::Some(ChunkSet::empty(0))),
            Response::NotFound,
            Response::Busy(Have::All),
            Response::Cancelled,
        ];
        for res in &responses {
            assert_eq!(&round_trip_response(res), res);
        }
    }

    #[test]
    fn malformed_input_is_rejected_without_panicking() {
        let err = |bytes: &[u8]| block_on(read_response(&mut &bytes[..])).unwrap_err();
        assert!(err(&[9]).to_string().contains("unknown response kind 9"));
        assert!(err(&[RES_HAVE, 7]).to_string().contains("holdings kind 7"));
        let mut huge = vec![RES_BLOCK, HAVE_ALL];
        huge.extend_from_slice(&(BLOCK_SIZE + 1).to_le_bytes());
        assert!(err(&huge).to_string().contains("more than the limit"));
        let mut many = vec![RES_HAVE, HAVE_SOME];
        many.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(err(&many).to_string().contains("more than the limit"));
        // Truncated: a block announced longer than the bytes that follow.
        let mut short = encode_response(&Response::Block(
            Bytes::from(vec![1u8; 10]),
            Some(Have::All),
        ));
        short.truncate(short.len() - 1);
        assert_eq!(err(&short).kind(), io::ErrorKind::UnexpectedEof);
        // Block hashes longer than the preallocation, cut short past it.
        let manifest = Response::Manifest(
            Bytes::from_static(b"VSM1"),
            Bytes::from(vec![7u8; 3 * PREALLOCATE + 5]),
            Have::All,
        );
        assert_eq!(round_trip_response(&manifest), manifest);
        let long = encode_response(&manifest);
        assert_eq!(
            err(&long[..long.len() - 1]).kind(),
            io::ErrorKind::UnexpectedEof
        );
        let bad_req = [42u8; 33];
        assert!(block_on(read_request(&mut &bad_req[..])).is_err());
        assert!(block_on(read_request(&mut &[REQ_BLOCK][..])).is_err());
        let mut bad_have = vec![REQ_HAVE];
        bad_have.extend_from_slice(&[0u8; 32]);
        bad_have.push(9);
        assert!(block_on(read_request(&mut &bad_have[..])).is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
                let _ = block_on(read_response(&mut &bytes[..]));
                let _ = block_on(read_request(&mut &bytes[..]));
            }

            #[test]
            fn block_responses_round_trip(len in 0usize..300, data in proptest::collection::vec(any::<u8>(), 0..512)) {
                let mut set = ChunkSet::empty(len);
                for i in (0..len).step_by(3) { set.insert(i); }
                let res = Response::Block(Bytes::from(data), Some(Have::Some(set)));
                prop_assert_eq!(round_trip_response(&res), res);
            }
        }
    }
}
