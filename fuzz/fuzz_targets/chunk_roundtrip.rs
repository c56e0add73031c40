//! Fuzzes the chunk protocol the other way round from `chunk_codec`: builds arbitrary
//! well-formed requests and responses, encodes them, and checks that they decode to the
//! same value and consume exactly the encoded bytes.

#![no_main]

use arbitrary::{Result, Unstructured};
use bytes::Bytes;
use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use versus_targets::content::ObjectId;
use versus_targets::peer::codec::{
    encode_request, encode_response, read_request, read_response, Ask, Request, Response,
};
use versus_targets::peer::have::{ChunkSet, Have};

/// Most chunks a generated holdings set ranges over (keeps each run fast).
const MAX_SET: usize = 4096;
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

fn ask(u: &mut Unstructured) -> Result<Ask> {
    let id = ObjectId(u.arbitrary()?);
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
        2 => Response::Block(payload(u)?, have(u)?),
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
    if let Ok(res) = response(&mut u) {
        let bytes = encode_response(&res);
        let mut rest = &bytes[..];
        let decoded = block_on(read_response(&mut rest)).expect("an encoded response decodes");
        assert_eq!(decoded, res);
        assert!(rest.is_empty(), "{} bytes left over", rest.len());
    }
});
