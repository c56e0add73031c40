//! The `url` workload (`versus run --url`, `kind = "url"`): each user sends the
//! workload's requests — one, or a requests file's, cycled or sampled per user — and
//! each named request is recorded as its own operation, `req:<name>`.

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::RngExt;

use crate::drive::session::{Answer, Operation};
use crate::drive::workload::Workload;
use crate::record::op::{OpKind, OpNames};
use crate::scenario::request::{RequestOrder, RequestSpec, Requests, MAX_REQUEST_NAMES};

/// Sends the requests of a url workload, in their order.
pub struct RequestWorkload {
    ops: Vec<Operation>,
    order: RequestOrder,
    names: OpNames,
}

impl RequestWorkload {
    /// The workload of `requests`, all on endpoint 0. A single unnamed GET is recorded
    /// as `get`; every other request as `req:<name>` (`req:METHOD path` when unnamed).
    pub fn new(requests: &Requests) -> Self {
        let mut names: Vec<String> = Vec::new();
        let ops = requests
            .list
            .iter()
            .map(|r| {
                let kind = match r.op_name() {
                    None => OpKind::Get,
                    Some(name) => OpKind::Request(name_index(&mut names, name)),
                };
                operation(r, kind)
            })
            .collect();
        Self {
            ops,
            order: requests.order,
            names: OpNames::new(names),
        }
    }
}

/// The index of `name` among `names`, added when new (at most [`MAX_REQUEST_NAMES`]:
/// the requests file allows no more; beyond, the last index is shared).
fn name_index(names: &mut Vec<String>, name: String) -> u8 {
    let index = match names.iter().position(|n| *n == name) {
        Some(i) => i,
        None if names.len() < MAX_REQUEST_NAMES => {
            names.push(name);
            names.len() - 1
        }
        None => MAX_REQUEST_NAMES - 1,
    };
    u8::try_from(index.min(MAX_REQUEST_NAMES - 1)).unwrap_or(0)
}

fn operation(r: &RequestSpec, kind: OpKind) -> Operation {
    Operation {
        kind,
        endpoint: 0,
        fallbacks: None,
        method: r.method.clone(),
        path: Bytes::copy_from_slice(r.target.path.as_bytes()),
        headers: (!r.headers.is_empty()).then(|| r.headers.clone().into()),
        body: r.body.clone(),
        answer: Answer::Payload { verify: None },
    }
}

impl Workload for RequestWorkload {
    fn next_op(&self, user: u64, iteration: u64, rng: &mut SmallRng) -> Option<Operation> {
        let n = self.ops.len();
        let index = match self.order {
            _ if n <= 1 => 0,
            RequestOrder::Cycle => (user.wrapping_add(iteration) % n as u64) as usize,
            RequestOrder::Random => rng.random_range(0..n),
        };
        self.ops.get(index).cloned()
    }

    fn op_names(&self) -> OpNames {
        self.names.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::url::Target;
    use rand::SeedableRng;

    fn spec(name: Option<&str>, method: hyper::Method, path: &str) -> RequestSpec {
        RequestSpec {
            name: name.map(str::to_string),
            method,
            target: Target::parse(&format!("http://127.0.0.1:9{path}")).unwrap(),
            headers: Vec::new(),
            body: None,
        }
    }

    #[test]
    fn a_single_get_is_get_and_named_requests_are_their_own() {
        let one = Requests {
            list: vec![spec(None, hyper::Method::GET, "/")].into(),
            order: RequestOrder::Cycle,
            ..Default::default()
        };
        let mut rng = SmallRng::seed_from_u64(1);
        let w = RequestWorkload::new(&one);
        assert_eq!(w.next_op(3, 7, &mut rng).unwrap().kind, OpKind::Get);
        let two = Requests {
            list: vec![
                spec(Some("a"), hyper::Method::GET, "/a"),
                spec(None, hyper::Method::POST, "/b"),
                spec(Some("a"), hyper::Method::GET, "/c"),
            ]
            .into(),
            order: RequestOrder::Cycle,
            ..Default::default()
        };
        let w = RequestWorkload::new(&two);
        let kinds: Vec<_> = (0..3)
            .map(|i| w.next_op(0, i, &mut rng).unwrap().kind)
            .collect();
        assert_eq!(
            kinds,
            [OpKind::Request(0), OpKind::Request(1), OpKind::Request(0)]
        );
        assert_eq!(w.op_names().name(OpKind::Request(1)), "req:POST /b");
        let random = RequestWorkload::new(&Requests {
            order: RequestOrder::Random,
            ..two
        });
        let seen: std::collections::BTreeSet<_> = (0..200)
            .map(|_| random.next_op(0, 0, &mut rng).unwrap().path)
            .collect();
        assert_eq!(seen.len(), 3);
    }
}
