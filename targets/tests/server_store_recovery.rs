//! What a crash leaves in `--data-dir`, and how the server starts over it: temporary
//! files and a data file without its manifest (a kill between the two renames of a PUT,
//! or between the two removals of a DELETE) are removed and never served; an object that
//! cannot be loaded (a short data file) is left in place, not served, and counted in
//! `versus_store_skipped_total`.

mod common;

use common::{metrics_text, sample, start, Client};
use hyper::StatusCode;
use versus_targets::content::{Manifest, CHUNK_SIZE};
use versus_targets::metrics::sample as metric;
use versus_targets::server::ServerArgs;
use versus_targets::store::{data_file, manifest_file};

fn on_disk(dir: &std::path::Path) -> ServerArgs {
    ServerArgs {
        data_dir: Some(dir.to_path_buf()),
        ..ServerArgs::default()
    }
}

#[tokio::test]
async fn crash_leftovers_are_removed_and_unloadable_objects_counted() {
    let dir = tempfile::tempdir().unwrap();
    let kept = sample(CHUNK_SIZE as usize + 5, 1);
    let orphan = sample(3000, 2);
    let short = sample(2 * CHUNK_SIZE as usize, 3);
    let server = start(on_disk(dir.path())).await;
    let mut client = Client::connect(server.data_addr()).await;
    for bytes in [&kept, &orphan, &short] {
        client.put(bytes.clone()).await;
    }
    server.shutdown().await.unwrap();

    let (orphan_id, short_id) = (Manifest::of(&orphan).id(), Manifest::of(&short).id());
    // A PUT killed between its two renames: the data file is there, its manifest is not.
    std::fs::remove_file(manifest_file(dir.path(), &orphan_id)).unwrap();
    // A write killed before its rename.
    std::fs::write(dir.path().join(".tmp-4242-7"), b"half an object").unwrap();
    // A data file cut short (by hand, or by a disk that lost it).
    let short_data = data_file(dir.path(), &short_id);
    std::fs::write(&short_data, &short[..1000]).unwrap();

    let server = start(on_disk(dir.path())).await;
    let mut client = Client::connect(server.data_addr()).await;
    let reply = client
        .get(&format!("/objects/{}", Manifest::of(&kept).id()))
        .await;
    assert_eq!((reply.status, reply.bytes()), (StatusCode::OK, kept));
    for id in [orphan_id, short_id] {
        let reply = client.get(&format!("/objects/{id}")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{id}");
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(!names.iter().any(|n| n.starts_with(".tmp-")), "{names:?}");
    assert!(
        !data_file(dir.path(), &orphan_id).exists(),
        "the orphan data file is removed: {names:?}"
    );
    assert!(
        short_data.exists(),
        "an unloadable object is left for a human to look at"
    );
    let text = metrics_text(&server).await;
    assert_eq!(
        metric(&text, "versus_store_skipped_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(metric(&text, "versus_objects_stored"), Some(1.0));
    server.shutdown().await.unwrap();
}
