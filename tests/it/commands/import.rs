//! `hamlet import`: the RFC subset and the JSON-lines format, on SQLite and Postgres: counts,
//! a known document, resolved citation links, idempotent re-import, and bad input that names
//! its file and line and leaves the collection untouched.

use crate::common;

use common::{import_rfc, import_subset, rfc_dir, TestDb};
use hamlet::app::import::{import_jsonl, JsonlOpts};
use hamlet::app::progress::Quiet;
use hamlet::store::{DocId, ImportWriter, NewCitation, NewDocument, Store};

both_backends!(
    imports_the_rfc_subset,
    reimport_updates_instead_of_duplicating,
    bad_index_leaves_the_collection_untouched,
    missing_corpus_is_named,
    jsonl_import_and_its_errors,
    nulls_then_values_and_nul_bytes,
    issue_26_reimport_corrects_titles_that_kept_an_authors_initials,
);

/// Issue 26: an import before the index parser was fixed stored RFC 6716 as "Definition of
/// the Opus Audio Codec. JM" by "Valin"; importing again corrects the row and forgets the
/// wrong person.
async fn issue_26_reimport_corrects_titles_that_kept_an_authors_initials(db: TestDb) {
    let store = db.store().await;
    let mut writer = ImportWriter::begin(&store).await.unwrap();
    writer
        .write(&[NewDocument {
            identifier: DocId(6716),
            title: "Definition of the Opus Audio Codec. JM".into(),
            authors: vec!["Valin".into(), "K. Vos".into()],
            text: Some("stale".into()),
            ..Default::default()
        }])
        .await
        .unwrap();
    writer.finish().await.unwrap();
    import_rfc(&store, rfc_dir(), "6716").await.unwrap();
    let doc = store.document(DocId(6716)).await.unwrap();
    assert_eq!(doc.title, "Definition of the Opus Audio Codec");
    let names: Vec<&str> = doc.authors.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["JM. Valin", "K. Vos", "T. Terriberry"]);
    let people: Vec<String> = store
        .search_authors("Valin", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(people, ["JM. Valin"]);
}

async fn imports_the_rfc_subset(db: TestDb) {
    let store = db.store().await;
    let report = import_subset(&store).await;
    // 14 is "Not Issued": 8 of the 9 numbers are documents.
    assert_eq!(report.documents, 8);
    assert_eq!(report.unextractable, 0);
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.documents, 8);

    let quic = store.document(DocId(9000)).await.unwrap();
    assert_eq!(
        quic.title,
        "QUIC: A UDP-Based Multiplexed and Secure Transport"
    );
    assert_eq!(quic.year, Some(2021));
    assert_eq!(quic.degree.as_deref(), Some("Proposed Standard"));
    let authors: Vec<&str> = quic.authors.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(authors, ["J. Iyengar", "M. Thomson"]);
    assert_eq!(quic.departments, ["Internet Engineering Task Force (IETF)"]);
    assert_eq!(
        quic.url.as_deref(),
        Some("https://www.rfc-editor.org/rfc/rfc9000")
    );
    assert!(quic.word_count > 50_000, "{}", quic.word_count);
    assert!(store
        .document_text(DocId(9000))
        .await
        .unwrap()
        .unwrap()
        .contains("QUIC"));

    // RFC 9000 cites 9001, 9002 and 2119, all imported: those links resolve.
    let cites = store.citations_of(DocId(9000)).await.unwrap();
    assert!(cites.len() > 40, "{}", cites.len());
    let targets: Vec<i64> = cites.iter().filter_map(|c| c.target.map(|d| d.0)).collect();
    for t in [9001, 9002, 2119] {
        assert!(targets.contains(&t), "9000 should cite {t}: {targets:?}");
    }
    // ...and citations of RFCs outside the subset keep their number but no link.
    assert!(cites
        .iter()
        .any(|c| c.target.is_none() && c.raw_ref.contains("RFC 8446")));
    assert!(store
        .cited_by(DocId(9001))
        .await
        .unwrap()
        .contains(&DocId(9000)));
    assert!(matches!(
        store.document(DocId(14)).await,
        Err(hamlet::store::Error::NotFound(_))
    ));
}

async fn reimport_updates_instead_of_duplicating(db: TestDb) {
    let store = db.store().await;
    import_subset(&store).await;
    let first = store.stats().await.unwrap();
    let quic_first = store.citations_of(DocId(9000)).await.unwrap();
    let again = import_subset(&store).await;
    assert_eq!(again.new_people, 0, "people are reused by name");
    assert_eq!(store.stats().await.unwrap(), first);
    assert_eq!(store.citations_of(DocId(9000)).await.unwrap(), quic_first);
}

async fn bad_index_leaves_the_collection_untouched(db: TestDb) {
    let store = db.store().await;
    import_subset(&store).await;
    let before = store.stats().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let index = std::fs::read_to_string(rfc_dir().join("rfc-index.txt")).unwrap();
    // Break RFC 9001's entry: its date disappears.
    let broken = index.replacen("S. Turner, Ed.. May 2021.", "S. Turner, Ed.. sometime.", 1);
    assert_ne!(broken, index);
    std::fs::write(dir.path().join("rfc-index.txt"), broken).unwrap();
    std::os::unix::fs::symlink(
        rfc_dir().join("rfc-text.tar.zst"),
        dir.path().join("rfc-text.tar.zst"),
    )
    .unwrap();
    let err = import_rfc(&store, dir.path().to_path_buf(), "1-9999")
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("rfc-index.txt:") && msg.contains("RFC 9001: no publication date"),
        "{msg}"
    );
    assert_eq!(store.stats().await.unwrap(), before);

    // A truncated archive fails part-way through: nothing of it is kept.
    let archive = std::fs::read(rfc_dir().join("rfc-text.tar.zst")).unwrap();
    let cut = tempfile::tempdir().unwrap();
    std::fs::write(
        cut.path().join("rfc-text.tar.zst"),
        &archive[..archive.len() / 3],
    )
    .unwrap();
    std::fs::copy(
        rfc_dir().join("rfc-index.txt"),
        cut.path().join("rfc-index.txt"),
    )
    .unwrap();
    let err = import_rfc(&store, cut.path().to_path_buf(), "1-9999")
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("rfc-text.tar.zst"), "{err:#}");
    assert_eq!(store.stats().await.unwrap(), before);
}

async fn missing_corpus_is_named(db: TestDb) {
    let store = db.store().await;
    let err = import_rfc(&store, "/nonexistent/corpus".into(), "1-10")
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("/nonexistent/corpus/rfc-index.txt"),
        "{err:#}"
    );
}

async fn jsonl_import_and_its_errors(db: TestDb) {
    let store = db.store().await;
    let dir = tempfile::tempdir().unwrap();
    let texts = dir.path().join("texts");
    std::fs::create_dir(&texts).unwrap();
    std::fs::write(texts.join("101.txt"), "A study of citation graphs.\n\nReferences\n\n[1] Smith, J., \"Graphs of theses\", Journal of Graphs, 2001.\n[2] Doe, A., \"More graphs\", MIT Press, 2003.\n").unwrap();
    std::fs::write(
        texts.join("102.txt"),
        "Another thesis, citing the first one.\n",
    )
    .unwrap();
    let meta = dir.path().join("theses.jsonl");
    std::fs::write(
        &meta,
        concat!(
            "{\"identifier\": 101, \"title\": \"Citation graphs\", \"year\": 2004, \"degree\": \"Ph.D.\", \"authors\": [\"Ada Author\"], \"advisors\": [\"Ann Advisor\"], \"departments\": [{\"name\": \"Physics\", \"course\": \"8\"}]}\n",
            "{\"identifier\": 102, \"title\": \"Follow-up\", \"authors\": [\"Bob Author\"], \"advisors\": [\"Ann Advisor\"], \"citations\": [{\"raw_ref\": \"Author, A. Citation graphs. 2004.\", \"target\": 101}]}\n",
            "{\"identifier\": 103, \"title\": \"Lost PDF\"}\n",
        ),
    )
    .unwrap();
    let opts = |m: &std::path::Path| JsonlOpts {
        metadata: m.to_path_buf(),
        texts: Some(texts.clone()),
        dry_run: false,
    };
    let report = import_jsonl(&store, opts(&meta), &Quiet).await.unwrap();
    assert_eq!(
        (
            report.documents,
            report.unextractable,
            report.resolved_citations
        ),
        (3, 1, 1)
    );
    let first = store.document(DocId(101)).await.unwrap();
    assert_eq!(
        first
            .advisors
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>(),
        ["Ann Advisor"]
    );
    let cites = store.citations_of(DocId(101)).await.unwrap();
    assert_eq!(cites.len(), 2);
    assert_eq!(cites[0].title.as_deref(), Some("Graphs of theses"));
    assert_eq!(store.cited_by(DocId(101)).await.unwrap(), [DocId(102)]);
    let before = store.stats().await.unwrap();

    // A malformed line 2 stops the import before anything is written.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"identifier\": 104, \"title\": \"fine\"}\n{\"identifier\": \"x\", \"title\": 1}\n",
    )
    .unwrap();
    let err = format!(
        "{:#}",
        import_jsonl(&store, opts(&bad), &Quiet).await.unwrap_err()
    );
    assert!(err.contains("bad.jsonl:2: invalid record"), "{err}");
    // Invalid UTF-8 in a text names the file and line.
    std::fs::write(texts.join("105.txt"), b"line one\nline \xff two\n").unwrap();
    let latin = dir.path().join("latin.jsonl");
    std::fs::write(&latin, "{\"identifier\": 105, \"title\": \"Latin-1\"}\n").unwrap();
    let err = format!(
        "{:#}",
        import_jsonl(&store, opts(&latin), &Quiet)
            .await
            .unwrap_err()
    );
    assert!(err.contains("105.txt:2: invalid UTF-8"), "{err}");
    // A missing metadata file is named.
    let err = format!(
        "{:#}",
        import_jsonl(&store, opts(&dir.path().join("nope.jsonl")), &Quiet)
            .await
            .unwrap_err()
    );
    assert!(err.contains("nope.jsonl"), "{err}");
    assert_eq!(store.stats().await.unwrap(), before);
}

#[tokio::test]
async fn unknown_database_schemes_are_refused() {
    let err = Store::connect("mysql://root@127.0.0.1/test", 1)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("unsupported database URL scheme \"mysql\""),
        "{err}"
    );
}

/// Two regressions found by importing the whole RFC collection into Postgres: a statement
/// first run with NULL at some position, then run again (same text) with a string there
/// ("incorrect binary data format"), and NUL characters in texts ("invalid byte sequence").
async fn nulls_then_values_and_nul_bytes(db: TestDb) {
    let store = db.store().await;
    let doc = |id: i64, author: Option<&str>| NewDocument {
        identifier: DocId(id),
        title: format!("Document {id}"),
        text: Some(format!("Text of {id} with a NUL\0 inside")),
        citations: vec![NewCitation {
            raw_ref: format!("Reference of {id}, long enough to keep"),
            author: author.map(str::to_string),
            year: author.map(|_| 1999),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut writer = ImportWriter::begin(&store).await.unwrap();
    writer.write(&[doc(1, None)]).await.unwrap();
    writer.write(&[doc(2, Some("Smith, J."))]).await.unwrap();
    writer.finish().await.unwrap();
    let cites = store.citations_of(DocId(2)).await.unwrap();
    assert_eq!(cites[0].author.as_deref(), Some("Smith, J."));
    assert_eq!(cites[0].year, Some(1999));
    assert_eq!(store.citations_of(DocId(1)).await.unwrap()[0].author, None);
    assert_eq!(
        store.document_text(DocId(1)).await.unwrap().as_deref(),
        Some("Text of 1 with a NUL inside")
    );
}
