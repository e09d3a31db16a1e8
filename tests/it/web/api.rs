//! Routes through Rocket's local client on both backends: health, the document API and its
//! error envelope, the home page, robots.txt, unknown paths, and the collection map's data.

use crate::common;

use common::{
    import_rfc, import_subset, rfc_dir, topics_engine, topics_model, TestDb, QUIC, TOPICS,
};
use hamlet::config::AppConfig;
use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::Client;
use serde_json::Value;

both_backends!(
    health_and_documents,
    errors_have_one_shape,
    pages_render,
    similar_documents_and_recommendations,
    the_default_engine_explains_its_results,
    the_collection_map
);

async fn client(db: &TestDb) -> Client {
    import_subset(&db.store().await).await;
    common::ready_client(AppConfig::for_tests(&db.url)).await
}

async fn json(client: &Client, uri: &str) -> (Status, Value) {
    let res = client.get(uri).dispatch().await;
    let status = res.status();
    assert_eq!(res.content_type(), Some(ContentType::JSON), "{uri}");
    (status, res.into_json().await.expect("JSON body"))
}

async fn health_and_documents(db: TestDb) {
    let client = client(&db).await;
    let (status, body) = json(&client, "/health").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["ok"], true);
    assert_eq!(body["documents"], 8);
    assert_eq!(body["torch"]["threads"], 1);
    let (status, _) = json(&client, "/health/").await;
    assert_eq!(status, Status::Ok, "the original's /health/ still answers");

    let (status, doc) = json(&client, "/api/documents/9000").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(doc["identifier"], 9000);
    assert_eq!(
        doc["title"],
        "QUIC: A UDP-Based Multiplexed and Secure Transport"
    );
    assert_eq!(doc["year"], 2021);
    assert_eq!(doc["authors"][0]["name"], "J. Iyengar");
    assert_eq!(
        doc["departments"][0],
        "Internet Engineering Task Force (IETF)"
    );
    assert_eq!(doc["url"], "https://www.rfc-editor.org/rfc/rfc9000");
    let linked: Vec<i64> = doc["citations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["identifier"].as_i64())
        .collect();
    assert!(
        linked.contains(&9001) && linked.contains(&9002),
        "{linked:?}"
    );
    let (_, tls) = json(&client, "/api/documents/9001").await;
    assert!(tls["cited_by"]
        .as_array()
        .unwrap()
        .contains(&Value::from(9000)));
}

async fn errors_have_one_shape(db: TestDb) {
    let client = client(&db).await;
    for uri in [
        "/api/documents/424242",
        "/api/documents/not-a-number",
        "/api/nothing-here",
    ] {
        let (status, body) = json(&client, uri).await;
        assert_eq!(status, Status::NotFound, "{uri}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{uri}: {body}"
        );
    }
    let (_, body) = json(&client, "/api/documents/424242").await;
    assert_eq!(
        body["error"]["message"],
        "no document with identifier 424242"
    );
    let res = client.get("/no/such/page").dispatch().await;
    assert_eq!(res.status(), Status::NotFound);
    assert_eq!(res.content_type(), Some(ContentType::HTML));
    assert!(res
        .into_string()
        .await
        .unwrap()
        .contains("there is nothing at this address"));
}

async fn pages_render(db: TestDb) {
    let client = client(&db).await;
    let res = client.get("/").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    assert!(
        html.contains("<dd>8</dd>"),
        "the home page shows the document count"
    );
    let res = client.get("/robots.txt").dispatch().await;
    assert_eq!(
        res.into_string().await.unwrap(),
        "User-agent: *\nAllow: /about/\nDisallow: /\n"
    );
    let res = client.get("/static/style.css").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert!(res.headers().get_one("X-Request-Id").is_some());
}

/// A database that cannot be reached does not stop the server: it is alive at once, not
/// ready (saying why), and the pages answer 503 "warming up" while start-up retries.
#[tokio::test]
async fn an_unreachable_database_keeps_the_server_warming_up() {
    let cfg = AppConfig::for_tests("postgres://nobody@127.0.0.1:1/none");
    let client = Client::tracked(hamlet::rocket(cfg))
        .await
        .expect("ignition does no I/O");
    let res = client.get("/health/live").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    // Let the first attempt fail and be reported.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let body = loop {
        let res = client.get("/health/ready").dispatch().await;
        assert_eq!(res.status(), Status::ServiceUnavailable);
        let body: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
        if body["problems"]["database"].is_string() || std::time::Instant::now() > deadline {
            break body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(body["database"], Value::from(false), "{body}");
    assert!(
        body["problems"]["database"]
            .as_str()
            .unwrap()
            .contains("migrating"),
        "{body}"
    );
    let res = client.get("/similar_to/").dispatch().await;
    assert_eq!(res.status(), Status::ServiceUnavailable);
    assert_eq!(res.headers().get_one("Retry-After"), Some("5"));
    assert!(res.into_string().await.unwrap().contains("warming up"));
    let res = client
        .post("/api/recommend")
        .header(ContentType::JSON)
        .body(r#"{"text":"a draft"}"#)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::ServiceUnavailable);
    let body: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("warming up"));
    let res = client.get("/static/style.css").dispatch().await;
    assert_eq!(
        res.status(),
        Status::Ok,
        "static files are served while warming up"
    );
}

/// A small PV-DBOW model of QUIC and unrelated RFCs, served: similar documents by identifier
/// and for a new text, with the result shape, limits, thresholds and errors.
async fn similar_documents_and_recommendations(db: TestDb) {
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let mut cfg = AppConfig::for_tests(&db.url);
    cfg.model_path = topics_model(&store).await;
    let client = common::ready_client(cfg).await;

    let (status, health) = json(&client, "/health/").await;
    assert_eq!(
        (status, &health["model"]["loaded"]),
        (Status::Ok, &Value::from(true))
    );
    let (status, body) = json(&client, "/api/documents/9000/similar?limit=5&min_score=-1").await;
    assert_eq!(status, Status::Ok, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for r in results {
        for field in [
            "identifier",
            "title",
            "year",
            "authors",
            "departments",
            "url",
            "score",
        ] {
            assert!(!r[field].is_null(), "result lacks {field}: {r}");
        }
    }
    let ids: Vec<i64> = results
        .iter()
        .map(|r| r["identifier"].as_i64().unwrap())
        .collect();
    assert!(
        !ids.contains(&9000) && (ids.contains(&9001) || ids.contains(&9002)),
        "{ids:?}"
    );
    let scores: Vec<f64> = results
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );
    let (_, none) = json(&client, "/api/documents/9000/similar?min_score=0.9999").await;
    assert_eq!(
        none["results"].as_array().unwrap().len(),
        0,
        "the threshold filters"
    );
    let (status, _) = json(&client, "/api/documents/424242/similar").await;
    assert_eq!(status, Status::NotFound);

    let draft = serde_json::json!({"text": "A UDP transport with streams, connection IDs, loss recovery, congestion control and TLS 1.3 handshakes for QUIC.", "limit": 3, "min_score": -1.0});
    let res = client
        .post("/api/recommend")
        .header(ContentType::JSON)
        .body(draft.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let body: Value = res.into_json().await.unwrap();
    let ids: Vec<i64> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["identifier"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(
        ids.iter().filter(|i| QUIC.contains(i)).count() >= 2,
        "{ids:?}"
    );
    for (body, why) in [
        ("{\"text\": \"   \"}", "empty"),
        ("{\"txt\": 1}", "malformed"),
        ("not json", "not JSON"),
    ] {
        let res = client
            .post("/api/recommend")
            .header(ContentType::JSON)
            .body(body)
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::BadRequest, "{why}");
        let err: Value = res.into_json().await.unwrap();
        assert!(
            err["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{why}: {err}"
        );
    }
}

#[tokio::test]
async fn without_a_model_the_model_routes_answer_503() {
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let client = client(&db).await;
    let res = client.get("/api/documents/9000/similar").dispatch().await;
    assert_eq!(res.status(), Status::ServiceUnavailable);
    assert_eq!(res.headers().get_one("Retry-After"), Some("5"));
    let body: Value = res.into_json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("model"));
    let (_, health) = json(&client, "/health").await;
    assert_eq!(health["model"]["loaded"], false);
}

/// `/api/map`: every document of the model with its place, title and department, gzipped when
/// asked, revalidated by ETag; `/api/map/place` places a new text; a model without a map says so.
async fn the_collection_map(db: TestDb) {
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let mut cfg = AppConfig::for_tests(&db.url);
    cfg.model_path = topics_model(&store).await;
    let model = hamlet::model::io::file::load(&cfg.model_path).unwrap();
    let client = common::ready_client(cfg).await;

    let res = client.get("/api/map").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.content_type(), Some(ContentType::JSON));
    assert!(res.headers().get_one("Content-Encoding").is_none());
    let etag = res.headers().get_one("ETag").unwrap().to_string();
    let plain = res.into_bytes().await.unwrap();
    let map: Value = serde_json::from_slice(&plain).unwrap();
    let n = model.model().doc_ids().len();
    assert_eq!(map["documents"], n);
    let ids: Vec<i64> = map["id"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(ids, model.model().doc_ids());
    for key in ["x", "y", "department", "year", "title", "author"] {
        assert_eq!(map[key].as_array().unwrap().len(), n, "{key}");
    }
    // The regions' names (issue 25): the whole map's are there, each with its documents,
    // as the model file keeps them.
    let labels = map["labels"].as_array().unwrap();
    assert!(
        labels
            .iter()
            .any(|l| l["level"] == 0 && !l["text"].as_str().unwrap().is_empty()),
        "{labels:?}"
    );
    assert_eq!(labels.len(), model.model().region_labels().len());
    let layout = model.model().layout().unwrap();
    for (i, (x, y)) in map["x"]
        .as_array()
        .unwrap()
        .iter()
        .zip(map["y"].as_array().unwrap())
        .enumerate()
    {
        let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
        assert!(
            (x - layout[2 * i] as f64).abs() < 1e-5 && (y - layout[2 * i + 1] as f64).abs() < 1e-5
        );
    }
    let quic = ids.iter().position(|&d| d == 9000).unwrap();
    assert_eq!(
        map["title"][quic],
        "QUIC: A UDP-Based Multiplexed and Secure Transport"
    );
    let departments = map["departments"].as_array().unwrap();
    let dept = map["department"][quic].as_u64().unwrap() as usize;
    assert_eq!(departments[dept], "Internet Engineering Task Force (IETF)");
    let counts: Vec<u64> = map["department_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(counts.len(), departments.len());
    assert_eq!(counts.iter().sum::<u64>() as usize, n);
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {counts:?}"
    );

    // gzip when the client takes it: the same bytes once inflated.
    let res = client
        .get("/api/map")
        .header(rocket::http::Header::new(
            "Accept-Encoding",
            "br, gzip;q=0.8",
        ))
        .dispatch()
        .await;
    assert_eq!(res.headers().get_one("Content-Encoding"), Some("gzip"));
    let packed = res.into_bytes().await.unwrap();
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&packed[..]),
        &mut inflated,
    )
    .unwrap();
    assert_eq!(inflated, plain);
    // Revalidation: the same ETag, nothing sent again.
    let res = client
        .get("/api/map")
        .header(rocket::http::Header::new("If-None-Match", etag.clone()))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NotModified);
    assert!(res.into_bytes().await.unwrap_or_default().is_empty());

    // The page, and the similar_to page's link to it.
    let page = client.get("/map/?focus=9000").dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    let html = page.into_string().await.unwrap();
    assert!(
        html.contains("<canvas")
            && html.contains("data-focus=\"9000\"")
            && html.contains("/static/map.js")
    );
    let similar = client
        .get("/similar_to/9000/")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(similar.contains("/map/?focus=9000"), "a link to the map");

    // A new text is placed inside the map, with its nearest documents.
    let draft = serde_json::json!({"text": "A UDP transport with streams, connection IDs, loss recovery, congestion control and TLS 1.3 handshakes for QUIC.", "limit": 3, "min_score": -1.0});
    let res = client
        .post("/api/map/place")
        .header(ContentType::JSON)
        .body(draft.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let placed: Value = res.into_json().await.unwrap();
    for key in ["x", "y"] {
        let v = placed[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{placed}");
    }
    assert_eq!(placed["results"].as_array().unwrap().len(), 3);
    // Bad input is a 4xx with the error envelope, as for /api/recommend.
    for (body, want) in [
        (r#"{"text": "   "}"#, Status::BadRequest),
        (r#"{"text": 5}"#, Status::BadRequest),
        (
            r#"{"text": "qqqzzzxx wwwvvvyyy"}"#,
            Status::UnprocessableEntity,
        ),
    ] {
        let res = client
            .post("/api/map/place")
            .header(ContentType::JSON)
            .body(body)
            .dispatch()
            .await;
        assert_eq!(res.status(), want, "{body}");
        let err: Value = res.into_json().await.unwrap();
        assert!(err["error"]["message"].is_string(), "{err}");
    }

    // A model without a map (a synthetic one) answers 404 with what to do, and the page says so.
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("bare.safetensors");
    hamlet::model::io::file::save(
        &hamlet::model::io::synth::synth(30, 8, 100, 1).unwrap(),
        &bare,
    )
    .unwrap();
    let mut cfg = AppConfig::for_tests(&db.url);
    cfg.model_path = bare;
    let client = common::ready_client(cfg).await;
    let (status, body) = json(&client, "/api/map").await;
    assert_eq!(status, Status::NotFound);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("hamlet model layout"));
    let html = client
        .get("/map/")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(html.contains("has no map"), "{html}");
}

/// Served, the default engine's results carry why they matched, its own thresholds apply when
/// none are configured, and the pages say why too.
async fn the_default_engine_explains_its_results(db: TestDb) {
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let mut cfg = AppConfig::for_tests(&db.url);
    cfg.model_path = topics_engine(&store).await;
    cfg.document_min_score = None;
    cfg.text_min_score = None;
    let client = common::ready_client(cfg).await;

    let (status, body) = json(&client, "/api/documents/9001/similar?limit=5&min_score=0").await;
    assert_eq!(status, Status::Ok, "{body}");
    let results = body["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let score = r["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score), "{r}");
        assert!(
            r["why"]["terms"].is_array() && r["why"]["cited_by"].is_u64(),
            "{r}"
        );
        assert!(r["why"]["parts"]["citation"].is_f64(), "{r}");
    }
    let ids: Vec<i64> = results
        .iter()
        .map(|r| r["identifier"].as_i64().unwrap())
        .collect();
    assert!(
        ids.iter().filter(|d| QUIC.contains(d)).count() >= 4,
        "9001's neighbours are QUIC documents: {ids:?}"
    );

    // Author results go through the same query API and carry why too (issue 24).
    let (_, doc) = json(&client, "/api/documents/9001").await;
    let person = doc["authors"][0]["id"]
        .as_i64()
        .expect("9001 has an author");
    let (status, body) = json(
        &client,
        &format!("/api/authors/{person}/similar?limit=5&min_score=0"),
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    let merged = body["results"].as_array().unwrap();
    assert!(!merged.is_empty(), "{body}");
    for r in merged.iter().chain(
        body["documents"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["results"].as_array().unwrap()),
    ) {
        assert!(r["why"]["parts"]["citation"].is_f64(), "{r}");
    }

    let draft = serde_json::json!({"text": "Our draft extends QUIC: A UDP-Based Multiplexed and Secure Transport with new stream frames and loss detection.", "limit": 3});
    let res = client
        .post("/api/recommend")
        .header(ContentType::JSON)
        .body(draft.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let body: Value = res.into_json().await.unwrap();
    let first = &body["results"][0];
    assert_eq!(first["identifier"], 9000, "{body}");
    assert_eq!(first["why"]["names_title"], true, "{body}");
    // A title named in prose is not a citation (a sibling's title reads much the same): only
    // a mention of its identifier says the draft already cites a document (issue 21).
    assert_eq!(first["already_cited"], false, "{body}");

    // Issue 21: a draft that cites [RFC9000] gets the documents it does not cite first, and
    // 9000 flagged after them.
    let citing = serde_json::json!({"text": "Our draft extends QUIC [RFC9000] with new stream frames and loss detection over UDP, for HTTP/3 and datagrams.", "limit": 3, "min_score": 0});
    let res = client
        .post("/api/recommend")
        .header(ContentType::JSON)
        .body(citing.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let cited: Value = res.into_json().await.unwrap();
    let results = cited["results"].as_array().unwrap();
    assert_eq!(
        results
            .iter()
            .filter(|r| r["already_cited"] == false)
            .count(),
        3,
        "{cited}"
    );
    if let Some(at) = results.iter().position(|r| r["identifier"] == 9000) {
        assert_eq!(results[at]["already_cited"], true, "{cited}");
        assert!(at >= 3, "new results lead: {cited}");
    }
    // What led to each new one: the cited document it is most like, with its title.
    let via: Vec<&Value> = results.iter().filter(|r| r["via"].is_object()).collect();
    assert!(!via.is_empty(), "{cited}");
    for r in via {
        assert_eq!(r["via"]["identifier"], 9000, "{r}");
        assert_eq!(r["why"]["via"], 9000, "{r}");
        assert!(r["via"]["title"].as_str().unwrap().contains("QUIC"), "{r}");
    }
    // And what the documents most like the draft cite ("cited by 4 of the 20 most like
    // yours"), and what the documents that cite what it cites also cite ("cited by 6 of the
    // 20 documents that cite what you cite").
    // (A peer shares at least one citation, so its part is never 0; a neighbour's weight is
    // its cosine cubed, which may be.)
    for (citing, of, part) in [
        ("neighbours_citing", "neighbours_of", None),
        ("peers_citing", "peers_of", Some("coupled")),
    ] {
        let told: Vec<&Value> = results
            .iter()
            .filter(|r| r["why"][citing].is_u64())
            .collect();
        assert!(!told.is_empty(), "{citing}: {cited}");
        for r in told {
            let (k, n) = (&r["why"][citing], &r["why"][of]);
            assert!(k.as_u64().unwrap() >= 1 && k.as_u64() <= n.as_u64(), "{r}");
            if let Some(part) = part {
                assert!(r["why"]["parts"][part].as_f64().unwrap() > 0.0, "{r}");
            }
        }
    }
    // Unset thresholds are the engine's own (0.2 on the scale of the terms that are not link
    // terms: 0.2 x 1.4 / 3.9), not the original's 0.65 cosine.
    assert!(
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["score"].as_f64().unwrap() >= 0.2 * 1.4 / 3.9 - 1e-6),
        "{body}"
    );

    let page = client.get("/similar_to/9001/").dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    let html = page.into_string().await.unwrap();
    assert!(
        html.contains("class=\"why\"") && html.contains("cited by"),
        "{html}"
    );
    let about = client
        .get("/about/")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(about.contains("predict which documents"), "{about}");
    assert!(about.contains("Results start at 0.3"), "{about}");
}
