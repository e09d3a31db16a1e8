//! Upload text extraction on real and generated files: the upstream thesis as .docx and .txt,
//! a hand-built PDF, and the damaged, encrypted and hostile variants a web form receives.

use crate::common;

use common::{tiny_docx, tiny_pdf, upstream_fixture};
use hamlet::extract::{extract, ExtractError, Format, Limits};

#[test]
fn the_upstream_thesis_reads_the_same_from_docx_and_txt() {
    let docx = std::fs::read(upstream_fixture("1721.1-33360.docx")).unwrap();
    let got = extract(&docx, Some("1721.1-33360.docx"), &Limits::default()).unwrap();
    assert_eq!(got.format, Format::Docx);
    assert!(got.text.contains("Clock Division"), "{}", &got.text[..200]);
    let txt = std::fs::read(upstream_fixture("1721.1-33360.txt")).unwrap();
    let plain = extract(&txt, Some("1721.1-33360.txt"), &Limits::default()).unwrap();
    assert_eq!(plain.format, Format::Text);
    // Same document, two formats: most words agree.
    let words = |s: &str| {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 3)
            .map(str::to_lowercase)
            .collect::<std::collections::HashSet<_>>()
    };
    let (a, b) = (words(&got.text), words(&plain.text));
    let shared = a.intersection(&b).count() as f64;
    assert!(
        shared / a.len().min(b.len()) as f64 > 0.8,
        "{shared} of {}",
        a.len()
    );
}

#[test]
fn pdf_text_layers_are_read() {
    let pdf = tiny_pdf(&[
        "Clock division as a power saving strategy",
        "in a system constrained by high transmission frequency (and low data rate).",
    ]);
    let got = extract(&pdf, Some("draft.pdf"), &Limits::default()).unwrap();
    assert_eq!(got.format, Format::Pdf);
    assert!(got.text.contains("power saving strategy"), "{:?}", got.text);
    assert!(got.text.contains("(and low data rate)"), "{:?}", got.text);
}

#[test]
fn generated_docx_keeps_paragraphs_and_entities() {
    let docx = tiny_docx(&["Streams & datagrams", "<QUIC> transport"]);
    let got = extract(&docx, Some("d.docx"), &Limits::default()).unwrap();
    assert_eq!(got.text, "Streams & datagrams\n<QUIC> transport\n");
}

#[test]
fn hostile_and_damaged_files_get_clear_errors() {
    let l = Limits::default();
    let pdf = tiny_pdf(&["some text"]);
    let truncated = &pdf[..pdf.len() / 2];
    assert!(matches!(
        extract(truncated, Some("t.pdf"), &l),
        Err(ExtractError::Corrupt(..) | ExtractError::NoText(_))
    ));
    let garbage = b"%PDF-1.7\n\x00\x01\x02 this is not a pdf at all".to_vec();
    assert!(extract(&garbage, Some("g.pdf"), &l).is_err());
    let docx = tiny_docx(&["x"]);
    assert!(matches!(
        extract(&docx[..docx.len() - 30], Some("t.docx"), &l),
        Err(ExtractError::Corrupt(..))
    ));
    // A zip bomb: 200 MB of spaces compress to a few hundred KB.
    let bomb = common::spaces_docx(200);
    assert!(bomb.len() < 2 << 20, "{}", bomb.len());
    assert!(matches!(
        extract(&bomb, Some("bomb.docx"), &l),
        Err(ExtractError::TooLarge(..))
    ));
    // Deeply nested XML costs nothing to a streaming reader.
    let deep = format!("{}{}", "<w:r>".repeat(100_000), "</w:r>".repeat(100_000));
    let got = extract(&tiny_docx_raw(&deep), Some("deep.docx"), &l);
    assert!(matches!(got, Err(ExtractError::NoText(_))), "{got:?}");
}

/// A .docx whose document part is `xml` verbatim.
fn tiny_docx_raw(xml: &str) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(
        "word/document.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    w.write_all(xml.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

/// Inputs the fuzzers found (scripts/fuzz.sh), kept in fuzz/corpus/ and checked here.
fn fuzz_regression(target: &str, name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/fuzz/corpus/{target}/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A page that is its own /Parent and lacks a MediaBox made pdf-extract search up the tree
/// for ever: now a damaged-file error, at once.
#[test]
fn a_pdf_page_tree_that_loops_is_refused_at_once() {
    let bytes = fuzz_regression("extract_pdf", "regression-page-is-its-own-parent.pdf");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(extract(&bytes, Some("draft.pdf"), &Limits::default()));
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("extraction must end");
    match got {
        Err(ExtractError::Corrupt(_, why)) => assert!(why.contains("loops"), "{why}"),
        other => panic!("{other:?}"),
    }
}

/// Vocabulary counts whose total overflows made the loader panic: now a corrupt-file error.
#[test]
fn a_model_file_with_overflowing_counts_is_corrupt_not_a_panic() {
    let bytes = fuzz_regression("model_file", "regression-vocab-counts-overflow.safetensors");
    let Err(err) = hamlet::model::io::file::parse(&bytes) else {
        panic!("a corrupt model file was accepted");
    };
    assert!(err.to_string().contains("counts overflow"), "{err}");
}

/// What the gensim_pickle fuzz target found in the importer (`hamlet model import-gensim`): a
/// dtype descriptor that is not ASCII, an array shape whose size overflows, vocabulary counts
/// whose total overflows (twice: downsampling, and the corpus size when the pickle has none).
/// Each made it panic; each is now an error.
#[test]
fn gensim_inputs_the_fuzzer_found_are_errors_not_panics() {
    use hamlet::model::{io::gensim, io::pickle::Array};
    for name in [
        "regression-non-ascii-dtype.npy",
        "regression-shape-overflow.npy",
    ] {
        let bytes = fuzz_regression("gensim_pickle", name);
        assert!(Array::from_npy(&bytes).is_err(), "{name}");
    }
    for name in [
        "regression-counts-overflow.pickle",
        "regression-words-total-overflow.pickle",
    ] {
        let bytes = fuzz_regression("gensim_pickle", name);
        let Err(err) = gensim::from_pickle(&bytes, std::path::Path::new("/nonexistent/x.model"))
        else {
            panic!("{name}: a hostile pickle was imported");
        };
        assert!(err.to_string().contains("overflow"), "{name}: {err}");
    }
}
