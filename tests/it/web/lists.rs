//! What readers do with a result list (issue 25): narrow it by year, department and degree
//! before the top N are cut, see how many results each choice leaves, and take it into a
//! reference manager as BibTeX, RIS or CSL-JSON, each read back by a real parser from PyPI
//! (bibtexparser, rispy, citeproc-py; scripts/test.sh installs them).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common;

use common::{import_rfc, rfc_dir, topics_engine, TestDb, QUIC, TOPICS};
use hamlet::config::AppConfig;
use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::Client;
use serde_json::Value;

both_backends!(
    filters_apply_before_the_cut_and_exports_parse,
    citations_are_shown_as_relations
);

async fn get_json(client: &Client, uri: &str) -> (Status, Value) {
    let res = client.get(uri).dispatch().await;
    let status = res.status();
    (status, res.into_json().await.expect("JSON body"))
}

/// Years of the results, which must all exist.
fn years(body: &Value) -> Vec<i64> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["year"].as_i64().expect("a year"))
        .collect()
}

/// Runs `script` in python3 with `input` on stdin and returns what it prints as JSON.
fn python(script: &str, input: &str) -> Value {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused the export ({}): {}\n{input}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

const BIBTEX: &str = r#"
import sys, json, bibtexparser
from bibtexparser.bparser import BibTexParser
db = bibtexparser.loads(sys.stdin.read(), parser=BibTexParser(common_strings=True))
print(json.dumps([{"type": e["ENTRYTYPE"], "id": e["ID"], "title": e.get("title"),
                   "year": e.get("year"), "url": e.get("url"), "note": e.get("note")} for e in db.entries]))
"#;

const RIS: &str = r#"
import sys, json, rispy
entries = rispy.loads(sys.stdin.read())
print(json.dumps([{"type": e.get("type_of_reference"), "title": e.get("title"),
                   "authors": e.get("authors", []), "year": e.get("year"), "url": e.get("urls")} for e in entries]))
"#;

const CSL: &str = r#"
import sys, json
from citeproc.source.json import CiteProcJSON
data = json.load(sys.stdin)
source = CiteProcJSON(data)
print(json.dumps([{"id": k, "type": str(source[k]["type"]), "title": str(source[k].get("title", ""))} for k in source]))
"#;

async fn filters_apply_before_the_cut_and_exports_parse(db: TestDb) {
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let mut cfg = AppConfig::for_tests(&db.url);
    cfg.model_path = topics_engine(&store).await;
    let client = common::ready_client(cfg).await;

    // Unfiltered, QUIC's neighbours are the QUIC documents (2021 on). Asking for three from
    // before 2000 still gives three: the filter applies before the cut.
    let (status, all) = get_json(&client, "/api/documents/9000/similar?limit=3&min_score=-1").await;
    assert_eq!(status, Status::Ok, "{all}");
    assert!(years(&all).iter().all(|y| *y >= 2021), "{all}");
    let (status, old) = get_json(
        &client,
        "/api/documents/9000/similar?limit=3&min_score=-1&year_to=1999",
    )
    .await;
    assert_eq!(status, Status::Ok, "{old}");
    let old_years = years(&old);
    assert_eq!(old_years.len(), 3, "{old}");
    assert!(old_years.iter().all(|y| *y <= 1999), "{old}");
    let (_, ranged) = get_json(
        &client,
        "/api/documents/9000/similar?limit=50&min_score=-1&year_from=1990&year_to=2005",
    )
    .await;
    assert!(
        !years(&ranged).is_empty() && years(&ranged).iter().all(|y| (1990..=2005).contains(y)),
        "{ranged}"
    );

    // Departments (one or more) and the degree.
    let (_, doc) = get_json(&client, "/api/documents/9001").await;
    let dept = doc["departments"][0].as_str().unwrap().to_string();
    let degree = doc["degree"].as_str().unwrap().to_string();
    let enc = |s: &str| {
        s.replace(' ', "%20")
            .replace('(', "%28")
            .replace(')', "%29")
    };
    let (status, by_dept) = get_json(
        &client,
        &format!(
            "/api/documents/9000/similar?limit=50&min_score=-1&department={}&department=Nowhere",
            enc(&dept)
        ),
    )
    .await;
    assert_eq!(status, Status::Ok, "{by_dept}");
    let listed = by_dept["results"].as_array().unwrap();
    assert!(!listed.is_empty());
    for r in listed {
        assert!(
            r["departments"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d == dept.as_str()),
            "{r}"
        );
    }
    let (_, by_degree) = get_json(
        &client,
        &format!(
            "/api/documents/9000/similar?limit=50&min_score=-1&degree={}",
            enc(&degree)
        ),
    )
    .await;
    for r in by_degree["results"].as_array().unwrap() {
        assert_eq!(r["degree"], degree.as_str(), "{r}");
    }

    // Filters that make no sense are refused with the reason.
    for bad in ["year_from=2020&year_to=2010", "year_from=soon"] {
        let (status, body) = get_json(&client, &format!("/api/documents/9000/similar?{bad}")).await;
        assert_eq!(status, Status::BadRequest, "{bad}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }

    // The same filters in a POST body.
    let res = client
        .post("/api/recommend")
        .header(ContentType::JSON)
        .body(
            serde_json::json!({"text": "QUIC streams over UDP with TLS handshakes and loss recovery", "limit": 3, "min_score": -1, "year_to": 1999})
                .to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let posted: Value = res.into_json().await.unwrap();
    assert_eq!(years(&posted).len(), 3, "{posted}");
    assert!(years(&posted).iter().all(|y| *y <= 1999), "{posted}");

    // Exports, read back by real parsers: the same documents in the same order.
    let ids: Vec<String> = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("hamlet{}", r["identifier"]))
        .collect();
    let titles: Vec<&str> = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    let export = |format: &'static str| {
        let client = &client;
        async move {
            let res = client
                .get(format!(
                    "/api/documents/9000/similar?limit=3&min_score=-1&format={format}"
                ))
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::Ok, "{format}");
            let ct = res.content_type().unwrap().to_string();
            let disposition = res
                .headers()
                .get_one("Content-Disposition")
                .unwrap()
                .to_string();
            (ct, disposition, res.into_string().await.unwrap())
        }
    };
    let (ct, disposition, bib) = export("bibtex").await;
    assert!(ct.starts_with("application/x-bibtex"), "{ct}");
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("hamlet-similar-9000.bib"),
        "{disposition}"
    );
    let parsed = python(BIBTEX, &bib);
    let got: Vec<&str> = parsed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ids, "{bib}");
    for (e, title) in parsed.as_array().unwrap().iter().zip(&titles) {
        assert_eq!(e["title"].as_str().unwrap(), *title, "{bib}");
        assert!(e["url"].as_str().unwrap().starts_with("https://"), "{bib}");
        assert_eq!(e["type"], "techreport", "RFCs are reports: {bib}");
    }

    let (ct, _, ris) = export("ris").await;
    assert!(
        ct.starts_with("application/x-research-info-systems"),
        "{ct}"
    );
    let parsed = python(RIS, &ris);
    let entries = parsed.as_array().unwrap();
    assert_eq!(entries.len(), 3, "{ris}");
    for (e, title) in entries.iter().zip(&titles) {
        assert_eq!(e["type"], "RPRT", "{ris}");
        assert_eq!(e["title"].as_str().unwrap(), *title, "{ris}");
        assert!(!e["authors"].as_array().unwrap().is_empty(), "{ris}");
    }

    let (ct, _, csl) = export("csljson").await;
    assert!(
        ct.starts_with("application/vnd.citationstyles.csl+json"),
        "{ct}"
    );
    let parsed = python(CSL, &csl);
    let mut got: Vec<String> = parsed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want, "{csl}");

    // The literature review as RIS: the cited works, parsed fields or the raw reference.
    let res = client
        .post("/api/lit-review")
        .header(ContentType::JSON)
        .body(
            serde_json::json!({"text": "QUIC streams over UDP with TLS handshakes, loss recovery and HTTP/3", "limit": 5, "min_score": -1, "format": "ris"})
                .to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let review = res.into_string().await.unwrap();
    let parsed = python(RIS, &review);
    assert!(parsed.as_array().unwrap().len() > 5, "{review}");
    assert!(
        parsed
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "GEN"),
        "cited works are listed: {review}"
    );
    let (status, body) = get_json(&client, "/api/documents/9000/similar?format=endnote").await;
    assert_eq!(status, Status::BadRequest, "{body}");

    // The page: the filters are kept in the URL and shown, with counts, and it links the
    // exports of the filtered list.
    let res = client
        .get("/similar_to/9000/?degree=Informational&year_from=2000")
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    assert!(
        html.contains(r#"name="year_from" inputmode="numeric" value="2000""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="Informational" selected>"#),
        "{html}"
    );
    assert!(html.contains(r#"class="count">("#), "facet counts: {html}");
    assert!(
        html.contains("/similar_to/9308/") || html.contains("/similar_to/9312/"),
        "an informational RFC about QUIC: {html}"
    );
    assert!(!html.contains("/similar_to/9001/"), "a standard: {html}");
    assert!(
        html.contains(
            "similar?limit=10&amp;year_from=2000&amp;degree=Informational&amp;format=bibtex"
        ),
        "{html}"
    );

    // An author's page: the same filters and the merged list's exports.
    let person = doc["authors"][0]["id"].as_i64().unwrap();
    let res = client
        .get(format!("/similar_to/author/{person}/?year_from=2022"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    // Tera writes "/" in attributes as "&#x2F;", which browsers read as "/".
    let html = res.into_string().await.unwrap().replace("&#x2F;", "/");
    assert!(html.contains(r#"class="filters""#), "{html}");
    assert!(
        html.contains(&format!(
            "/api/authors/{person}/similar?limit=10&amp;year_from=2022&amp;format=ris"
        )),
        "{html}"
    );

    // The upload forms offer the filters, with the collection's choices before a text is sent,
    // and a multipart request (what the results page's export form sends) gets the file.
    let html = client
        .get("/upload/recommend/")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(
        html.contains(r#"<details class="filters-inline""#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="department" value="Internet Engineering Task Force (IETF)""#),
        "{html}"
    );
    let (status, bib) = common::post_form(
        &client,
        "/api/recommend",
        &[
            (
                "text",
                None,
                b"QUIC streams over UDP with TLS handshakes and loss recovery",
            ),
            ("year_to", None, b"1999"),
            ("min_score", None, b"-1"),
            ("format", None, b"bibtex"),
        ],
    )
    .await;
    assert_eq!(status, Status::Ok);
    let parsed = python(BIBTEX, &bib);
    let years: Vec<i64> = parsed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["year"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        !years.is_empty() && years.iter().all(|y| *y <= 1999),
        "{bib}"
    );
}

/// Issue 41: a known document's page lists the documents most alike, and apart from them what
/// it cites and what cites it within the collection, each most alike first; every result's
/// "why" names its relation to the page's document, in the API (`why.relation`) and on the page.
async fn citations_are_shown_as_relations(db: TestDb) {
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let mut cfg = AppConfig::for_tests(&db.url);
    cfg.model_path = topics_engine(&store).await;
    let client = common::ready_client(cfg).await;

    // QUIC (9000) is cited by its companions; the citers are listed most alike first, each
    // "cites this one".
    let (status, body) =
        get_json(&client, "/api/documents/9000/similar?limit=5&min_score=-1").await;
    assert_eq!(status, Status::Ok, "{body}");
    let related = &body["related"];
    let citers = related["cited_by"].as_array().expect("what cites it");
    let total = related["cited_by_total"].as_u64().unwrap() as usize;
    assert!(total >= 5 && citers.len() == 5, "{related}");
    for r in citers {
        let id = r["identifier"].as_i64().unwrap();
        assert!(QUIC.contains(&id), "a QUIC document cites QUIC: {r}");
        assert_eq!(r["why"]["relation"]["cites_it"], true, "{r}");
    }
    let scores: Vec<f64> = citers
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "most alike first: {scores:?}"
    );
    // What 9000 cites in the collection, each "cited by it".
    for r in related["cites"].as_array().unwrap() {
        assert_eq!(r["why"]["relation"]["cited_by_it"], true, "{r}");
    }
    // The alike list names relations too, and never a relation where there is none.
    let results = body["results"].as_array().unwrap();
    assert!(
        results.iter().any(|r| r["why"]["relation"].is_object()),
        "some of QUIC's look-alikes are linked to it: {body}"
    );
    for r in results {
        if let Some(rel) = r["why"]["relation"].as_object() {
            assert!(
                rel.values()
                    .any(|v| v == true || v.as_u64().is_some_and(|n| n > 0)),
                "{r}"
            );
        }
    }
    // Filters narrow the relations as they narrow the list: nothing citing QUIC predates it.
    let (_, old) = get_json(
        &client,
        "/api/documents/9000/similar?min_score=-1&year_to=2000",
    )
    .await;
    assert_eq!(old["related"]["cited_by_total"], 0, "{old}");

    // The page: the two lists under their own heading, the relation in words, no bare
    // popularity count.
    let res = client.get("/similar_to/9000/").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    assert!(html.contains("Its citations in the collection"), "{html}");
    assert!(
        html.contains(&format!("Cited by {total} documents of the collection")),
        "{html}"
    );
    assert!(html.contains("cites this one"), "{html}");
    assert!(
        !html.contains("documents of the collection</span>"),
        "no popularity count: {html}"
    );
}
