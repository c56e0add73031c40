//! Frames on a block pipe: a 4-byte little-endian tag, then one message of the block
//! protocol in its [`codec`](super::super::codec) encoding. An asker's frames carry
//! requests and cancels, the server's carry answers; an answer repeats its request's tag,
//! and a cancel has the tag [`NO_ANSWER`] (nothing answers it by that tag).

use std::io;

use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::super::codec::{
    encode_request_on_stream, encode_response_header, read_request_on_stream, read_response, Ask,
    Response,
};
use crate::content::ObjectId;

/// The tag of a frame that gets no answer (a cancel).
pub const NO_ANSWER: u32 = 0;

/// Writes one request or cancel; `named` is the object this stream named last (the id
/// is left out when it is the same, see [`encode_request_on_stream`]).
pub async fn write_ask<W: AsyncWrite + Unpin>(
    out: &mut W,
    named: &mut Option<ObjectId>,
    tag: u32,
    ask: &Ask,
) -> io::Result<()> {
    let mut frame = Vec::with_capacity(48);
    frame.extend_from_slice(&tag.to_le_bytes());
    frame.extend_from_slice(&encode_request_on_stream(ask, named));
    out.write_all(&frame).await
}

/// Reads one request or cancel; `named` as for [`write_ask`], on the reading side.
pub async fn read_ask<R: AsyncRead + Unpin>(
    input: &mut R,
    named: &mut Option<ObjectId>,
) -> io::Result<(u32, Ask)> {
    let tag = read_tag(input).await?;
    Ok((tag, read_request_on_stream(input, named).await?))
}

/// Writes one answer: its header, then its payload straight from the block's buffer.
pub async fn write_answer<W: AsyncWrite + Unpin>(
    out: &mut W,
    tag: u32,
    response: &Response,
) -> io::Result<()> {
    let (header, payload) = encode_response_header(response);
    let mut frame = Vec::with_capacity(4 + header.len());
    frame.extend_from_slice(&tag.to_le_bytes());
    frame.extend_from_slice(&header);
    out.write_all(&frame).await?;
    if let Some(payload) = payload {
        out.write_all(payload).await?;
    }
    Ok(())
}

/// Reads one answer.
pub async fn read_answer<R: AsyncRead + Unpin>(input: &mut R) -> io::Result<(u32, Response)> {
    let tag = read_tag(input).await?;
    Ok((tag, read_response(input).await?))
}

async fn read_tag<R: AsyncRead + Unpin>(input: &mut R) -> io::Result<u32> {
    let mut tag = [0u8; 4];
    input.read_exact(&mut tag).await?;
    Ok(u32::from_le_bytes(tag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::codec::Request;
    use crate::peer::have::Have;
    use bytes::Bytes;
    use futures::executor::block_on;

    #[test]
    fn frames_follow_one_another_on_one_stream() {
        let ask = Ask {
            request: Request::Block(ObjectId([7; 32]), 12),
            have: Some(Have::All),
        };
        let cancel = Ask {
            request: Request::Cancel(ObjectId([7; 32]), 3),
            have: None,
        };
        let mut wire = Vec::new();
        let mut named = None;
        block_on(async {
            write_ask(&mut wire, &mut named, 41, &ask)
                .await
                .expect("writes");
            write_ask(&mut wire, &mut named, NO_ANSWER, &cancel)
                .await
                .expect("writes");
        });
        // Tag, kind, id, index, holdings; the second names the same object: no id.
        assert_eq!(wire.len(), (4 + 1 + 32 + 4 + 1) + (4 + 1 + 4 + 1));
        let mut input = &wire[..];
        let mut named = None;
        assert_eq!(
            block_on(read_ask(&mut input, &mut named)).expect("reads"),
            (41, ask)
        );
        assert_eq!(
            block_on(read_ask(&mut input, &mut named)).expect("reads"),
            (0, cancel)
        );
        assert!(input.is_empty());
        // A stream that starts with "the same object" is malformed.
        let mut fresh = None;
        assert!(block_on(read_ask(&mut &wire[42..], &mut fresh)).is_err());

        let block = Response::Block(Bytes::from(vec![5u8; 16 << 10]), Some(Have::All));
        let mut wire = Vec::new();
        block_on(async {
            write_answer(&mut wire, 41, &block).await.expect("writes");
            write_answer(&mut wire, 42, &Response::Cancelled)
                .await
                .expect("writes");
        });
        // Tag, kind, holdings, length, then the block itself: 10 bytes of framing.
        assert_eq!(wire.len(), (16 << 10) + 10 + 5);
        let mut input = &wire[..];
        assert_eq!(
            block_on(read_answer(&mut input)).expect("reads"),
            (41, block)
        );
        assert_eq!(
            block_on(read_answer(&mut input)).expect("reads"),
            (42, Response::Cancelled)
        );
    }
}
