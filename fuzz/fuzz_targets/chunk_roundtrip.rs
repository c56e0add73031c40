//! Fuzzes the chunk protocol the other way round from `chunk_codec`: builds arbitrary
//! well-formed requests and responses, encodes them, and checks that they decode to the
//! same value and consume exactly the encoded bytes; then does the same for a run of
//! requests on one block pipe, where a request naming the object before it leaves the
//! id out.

#![no_main]

use arbitrary::{Result, Unstructured};
use bytes::Bytes;
use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use versus_targets::content::ObjectId;
use versus_targets::peer::codec::{
    encode_request, encode_request_on_stream, encode_response, read_request,
    read_request_on_stream, read_response, Ask, Request, Response,
};
use versus_targets::peer::have::{ChunkSet, Have};

/// Most chunks a generated holdings set ranges over (keeps each run fast).
const MAX_SET: usize = 4096;
/// Most requests generated on one pipe.
const MAX_ON_PIPE: usize = 8;
/// Largest generated payload (a block, the largest payload the protocol takes).
const MAX_PAYLOAD: usize = 16 << 10;

fn have(u: &mut Unstructured) -> Result<Have> {
    if u.arbitrary()? {
        return Ok(Have::All);
    }
    let len = u.int_in_range(0..=MAX_SET)?;
    let mut set = ChunkSet::empty(len);
    for _ in 0..u.int_in_range(0..=64)? {
        set.insert(u.int_in_range(0..=len)?);
    }
    Ok(Have::Some(set))
}

fn payload(u: &mut Unstructured) -> Result<Bytes> {
    let len = u.int_in_range(0..=MAX_PAYLOAD)?;
    let fill: u8 = u.arbitrary()?;
    Ok(Bytes::from(vec![fill; len]))
}

/// An object id: one of two fixed ones most of the time, so that runs of requests on a
/// pipe name the same object and take the short form.
fn object(u: &mut Unstructured) -> Result<ObjectId> {
    Ok(match u.int_in_range(0..=3)? {
        0 => ObjectId([1; 32]),
        1 => ObjectId([2; 32]),
        _ => ObjectId(u.arbitrary()?),
    })
}

fn ask(u: &mut Unstructured) -> Result<Ask> {
    let id = object(u)?;
    let request = match u.int_in_range(0..=3)? {
        0 => Request::Manifest(id),
        1 => Request::Have(id),
        2 => Request::Block(id, u.arbitrary()?),
        _ => Request::Cancel(id, u.arbitrary()?),
    };
    let have = if u.arbitrary()? { Some(have(u)?) } else { None };
    Ok(Ask { request, have })
}

fn response(u: &mut Unstructured) -> Result<Response> {
    Ok(match u.int_in_range(0..=6)? {
        0 => Response::Manifest(payload(u)?, payload(u)?, have(u)?),
        1 => Response::Have(have(u)?),
        2 => {
            let have = if u.arbitrary()? { Some(have(u)?) } else { None };
            Response::Block(payload(u)?, have)
        }
        3 => Response::Missing(have(u)?),
        4 => Response::NotFound,
        5 => Response::Cancelled,
        _ => Response::Busy(have(u)?),
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok(ask) = ask(&mut u) {
        let bytes = encode_request(&ask);
        let mut rest = &bytes[..];
        let decoded = block_on(read_request(&mut rest)).expect("an encoded request decodes");
        assert_eq!(decoded, ask);
        assert!(rest.is_empty(), "{} bytes left over", rest.len());
    }
    let asks: Vec<Ask> = (0..MAX_ON_PIPE).map_while(|_| ask(&mut u).ok()).collect();
    let mut written = None;
    let pipe: Vec<u8> = asks
        .iter()
        .flat_map(|ask| encode_request_on_stream(ask, &mut written))
        .collect();
    let mut rest = &pipe[..];
    let mut named = None;
    for ask in &asks {
        let decoded = block_on(read_request_on_stream(&mut rest, &mut named))
            .expect("a request encoded on a pipe decodes on it");
        assert_eq!(&decoded, ask);
    }
    assert!(
        rest.is_empty(),
        "{} bytes left over on the pipe",
        rest.len()
    );
    assert_eq!(
        named, written,
        "both ends of the pipe agree on the object named last"
    );
    if let Ok(res) = response(&mut u) {
        let bytes = encode_response(&res);
        let mut rest = &bytes[..];
        let decoded = block_on(read_response(&mut rest)).expect("an encoded response decodes");
        assert_eq!(decoded, res);
        assert!(rest.is_empty(), "{} bytes left over", rest.len());
    }
});
