//! The pages and the JSON API of the three tools on both backends, with a small trained model:
//! search and autocomplete, similar_to pages, author pages, uploads (.txt, .docx, .pdf,
//! pasted) through the forms and the API, the literature review, and the abuse guards (CSRF,
//! rate limit, captcha, size limit, security headers).

use crate::common;

use common::{
    import_rfc, multipart, post_form, rfc_dir, tiny_docx, tiny_pdf, topics_engine, topics_model,
    TestDb, TOPICS,
};
use hamlet::config::AppConfig;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::Value;

both_backends!(pages_and_search, uploads_through_forms, api_tools);

const QUIC_DRAFT: &str = "We design a UDP based transport with multiplexed streams, connection \
    IDs, packet loss recovery, congestion control, flow control and a TLS 1.3 handshake, like \
    QUIC, and map HTTP semantics onto it.";

async fn client_with(db: &TestDb, tweak: impl FnOnce(&mut AppConfig)) -> Client {
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let mut cfg = AppConfig::for_tests(&db.url);
    cfg.model_path = topics_model(&store).await;
    tweak(&mut cfg);
    common::ready_client(cfg).await
}

async fn page(client: &Client, uri: &str) -> (Status, String) {
    let res = client.get(uri).dispatch().await;
    let status = res.status();
    (status, res.into_string().await.unwrap_or_default())
}

async fn get_json(client: &Client, uri: &str) -> (Status, Value) {
    let res = client.get(uri).dispatch().await;
    let status = res.status();
    assert_eq!(res.content_type(), Some(ContentType::JSON), "{uri}");
    (status, res.into_json().await.unwrap())
}

/// The hidden CSRF token of a rendered form.
fn csrf_token(html: &str) -> String {
    let at = html
        .find("name=\"csrf_token\" value=\"")
        .expect("a CSRF field")
        + 25;
    html[at..].split('"').next().unwrap().to_string()
}

async fn pages_and_search(db: TestDb) {
    let client = client_with(&db, |_| {}).await;
    for uri in [
        "/",
        "/about/",
        "/about",
        "/similar_to/",
        "/upload/recommend/",
        "/citations/lit_review_buddy/",
    ] {
        let res = client.get(uri).dispatch().await;
        assert_eq!(res.status(), Status::Ok, "{uri}");
        let csp = res
            .headers()
            .get_one("Content-Security-Policy")
            .unwrap_or("");
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{uri}: {csp}"
        );
        assert_eq!(
            res.headers().get_one("X-Content-Type-Options"),
            Some("nosniff")
        );
        assert_eq!(
            res.headers().get_one("Referrer-Policy"),
            Some("same-origin")
        );
        let html = res.into_string().await.unwrap();
        assert!(
            !html.contains("style=\"") && !html.contains("<script>"),
            "{uri}: inline code"
        );
    }
    let (_, about) = page(&client, "/about/").await;
    assert!(
        about.contains("PV-DBOW"),
        "the about page describes the loaded model"
    );

    // Search without script: the form lists matches.
    let (status, html) = page(&client, "/similar_to/?title=quic").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("href=\"/similar_to/9000/\""), "{html}");
    let (_, html) = page(&client, "/similar_to/?author=iyengar").await;
    assert!(html.contains("/similar_to/author/"), "{html}");
    // A search with no hit says so (issue 42).
    let (status, html) = page(&client, "/similar_to/?title=zyxwvut&author=zyxwvut").await;
    assert_eq!(status, Status::Ok);
    assert!(
        html.contains("No document with text has a title containing"),
        "{html}"
    );
    assert!(html.contains("name contains"), "{html}");

    // Autocomplete, as the original's widgets: {results: [{id, text}]}.
    let (status, body) = get_json(&client, "/autocomplete/thesis/?q=QUIC").await;
    assert_eq!(status, Status::Ok);
    let ids: Vec<i64> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&9000), "{body}");
    assert!(body["results"][0]["text"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("quic"));
    let (_, body) = get_json(&client, "/autocomplete/author/?q=thomson").await;
    let author_id = body["results"][0]["id"].as_i64().expect("an author");
    let (_, body) = get_json(&client, "/autocomplete/thesis/?q=q").await;
    assert_eq!(
        body["results"].as_array().unwrap().len(),
        0,
        "one letter is too short"
    );
    let (_, body) = get_json(&client, "/autocomplete/thesis/?q=100%25_").await;
    assert_eq!(
        body["results"].as_array().unwrap().len(),
        0,
        "LIKE wildcards are literal"
    );

    // A similar_to page: the subject, then results linking to their pages and authors.
    let (status, html) = page(&client, "/similar_to/9000/").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("QUIC: A UDP-Based Multiplexed and Secure Transport"));
    assert!(
        html.contains("class=\"result\"") || html.contains("No other document"),
        "{html}"
    );
    if html.contains("class=\"result\"") {
        assert!(
            html.contains("the cosine similarity of the two documents"),
            "a PV-DBOW model's score is explained as a cosine: {html}"
        );
    }
    assert!(html.contains("href=\"/similar_to/author/"));
    let (status, _) = page(&client, "/similar_to/9000").await;
    assert_eq!(status, Status::Ok, "the URL without its slash works too");
    let (status, html) = page(&client, "/similar_to/424242/").await;
    assert_eq!(status, Status::NotFound);
    assert!(html.contains("no document with identifier 424242"));

    // An author page: a section per authored document.
    let (status, html) = page(&client, &format!("/similar_to/author/{author_id}/")).await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("Documents similar to the work of"), "{html}");
    let (status, _) = page(&client, "/similar_to/author/99999999/").await;
    assert_eq!(status, Status::NotFound);
}

/// An unextractable document gets the original's apology, not results.
#[tokio::test]
async fn unextractable_documents_get_an_apology() {
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    // RFC 8 is one of the collection's documents without text.
    import_rfc(&store, rfc_dir(), "8").await.unwrap();
    let mut cfg = AppConfig::for_tests(&db.url);
    cfg.model_path = topics_model(&store).await;
    let client = common::ready_client(cfg).await;
    let (status, html) = page(&client, "/similar_to/8/").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("could not be extracted"), "{html}");
    let (status, body) = get_json(&client, "/api/documents/8/similar").await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no extractable text"));
}

/// Posts one file through the upload form with its CSRF token.
async fn upload_file(client: &Client, token: &str, name: &str, bytes: &[u8]) -> (Status, String) {
    let parts = [
        ("csrf_token", None, token.as_bytes()),
        ("file", Some(name), bytes),
    ];
    post_form(client, "/upload/recommend/", &parts).await
}

async fn uploads_through_forms(db: TestDb) {
    // More uploads than the default rate allows: the limit has its own test.
    let client = client_with(&db, |c| c.upload_rate_per_minute = 0).await;
    let (_, form) = page(&client, "/upload/recommend/").await;
    let token = csrf_token(&form);
    assert!(form.contains("enctype=\"multipart/form-data\""));

    // Each format, through the form, finds QUIC documents (min_score relaxed: a tiny model).
    let pdf = tiny_pdf(&[QUIC_DRAFT]);
    let docx = tiny_docx(&[QUIC_DRAFT]);
    for (name, bytes) in [
        ("draft.txt", QUIC_DRAFT.as_bytes()),
        ("draft.pdf", &pdf[..]),
        ("draft.docx", &docx[..]),
    ] {
        let (status, html) = upload_file(&client, &token, name, bytes).await;
        assert_eq!(status, Status::Ok, "{name}: {html}");
        assert!(
            html.contains("If you wrote this, you might also like"),
            "{name}"
        );
    }
    // Pasted text, no file chosen (browsers still send an empty, unnamed file part).
    let (status, html) = post_form(
        &client,
        "/upload/recommend/",
        &[
            ("csrf_token", None, token.as_bytes()),
            ("file", Some(""), b""),
            ("text", None, QUIC_DRAFT.as_bytes()),
        ],
    )
    .await;
    assert_eq!(status, Status::Ok, "{html}");

    // Without the CSRF token: 403, the form again, the pasted text kept.
    let (status, html) = post_form(
        &client,
        "/upload/recommend/",
        &[("text", None, b"my precious draft")],
    )
    .await;
    assert_eq!(status, Status::Forbidden);
    assert!(
        html.contains("reload the page") && html.contains("my precious draft"),
        "{html}"
    );
    let (status, _) = post_form(
        &client,
        "/upload/recommend/",
        &[("csrf_token", None, b"00ff"), ("text", None, b"draft")],
    )
    .await;
    assert_eq!(status, Status::Forbidden, "a forged token");

    // Bad files: a message on the page and a 4xx, never a 500. The bomb: a PDF whose content
    // stream is Flate of Flate of 256 MB of zeros (a few kB; issue 22).
    let bomb = common::pdf_with_stream(
        "/Filter [/FlateDecode /FlateDecode]",
        &common::deflate(&common::deflated_zeros(256 << 20)),
    );
    let cases: [(&str, &[u8], Status, &str); 5] = [
        (
            "bomb.pdf",
            &bomb,
            Status::PayloadTooLarge,
            "too large once unpacked",
        ),
        (
            "photo.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            Status::UnsupportedMediaType,
            "not supported",
        ),
        (
            "empty.txt",
            b"",
            Status::UnprocessableEntity,
            "the file is empty",
        ),
        (
            "broken.docx",
            b"PK\x03\x04garbage",
            Status::UnprocessableEntity,
            "damaged",
        ),
        (
            "locked.docx",
            &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
            Status::UnprocessableEntity,
            "password-protected",
        ),
    ];
    for (name, bytes, want, message) in cases {
        let (status, html) = upload_file(&client, &token, name, bytes).await;
        assert_eq!(status, want, "{name}");
        assert!(
            html.contains(message) && html.contains("role=\"alert\""),
            "{name}: {html}"
        );
    }
    let big = vec![b'a'; 5 << 20];
    let (status, html) = post_form(
        &client,
        "/upload/recommend/",
        &[
            ("csrf_token", None, token.as_bytes()),
            ("file", Some("big.txt"), &big),
        ],
    )
    .await;
    assert_eq!(status, Status::PayloadTooLarge);
    assert!(html.contains("larger than the limit of 4.0 MB"), "{html}");

    // The literature review buddy: the works several similar documents cite, linked.
    let (_, form) = page(&client, "/citations/lit_review_buddy/").await;
    let token = csrf_token(&form);
    let (status, html) = post_form(
        &client,
        "/citations/lit_review_buddy/",
        &[
            ("csrf_token", None, token.as_bytes()),
            ("text", None, QUIC_DRAFT.as_bytes()),
        ],
    )
    .await;
    assert_eq!(status, Status::Ok, "{html}");
    assert!(
        html.contains("Cited by several similar documents") || html.contains("Nothing found"),
        "{html}"
    );
}

async fn api_tools(db: TestDb) {
    let client = client_with(&db, |_| {}).await;
    // Search.
    let (status, body) = get_json(&client, "/api/search?q=quic&kind=title").await;
    assert_eq!(status, Status::Ok);
    assert!(
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["identifier"] == 9000),
        "{body}"
    );
    let (_, body) = get_json(&client, "/api/search?q=Thomson&kind=author").await;
    let person = body["results"][0]["id"].as_i64().expect("an author");
    assert!(body["results"][0]["documents"].as_i64().unwrap() >= 1);
    for bad in ["/api/search", "/api/search?q=x&kind=venue"] {
        let (status, body) = get_json(&client, bad).await;
        assert_eq!(status, Status::BadRequest, "{bad}");
        assert!(body["error"]["message"].is_string());
    }

    // Similar to an author's documents.
    let (status, body) = get_json(
        &client,
        &format!("/api/authors/{person}/similar?min_score=-1&limit=3"),
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["author"]["id"], person);
    let documents = body["documents"].as_array().unwrap();
    assert!(!documents.is_empty());
    let own: Vec<&Value> = documents
        .iter()
        .map(|d| &d["document"]["identifier"])
        .collect();
    let merged = body["results"].as_array().unwrap();
    assert!(!merged.is_empty() && merged.len() <= 3);
    assert!(
        merged.iter().all(|r| !own.contains(&&r["identifier"])),
        "own documents are left out"
    );

    // Recommend: a multipart file upload, the real upstream thesis as .docx.
    let docx = std::fs::read(common::upstream_fixture("1721.1-33360.docx")).unwrap();
    let (ct, body) = multipart(&[
        ("file", Some("1721.1-33360.docx"), &docx),
        ("min_score", None, b"-1"),
        ("limit", None, b"4"),
    ]);
    let res = client
        .post("/api/recommend")
        .header(ContentType::parse_flexible(&ct).unwrap())
        .body(body)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let body: Value = res.into_json().await.unwrap();
    assert_eq!(body["results"].as_array().unwrap().len(), 4, "{body}");

    // The same text twice gives the same answer.
    let ask = serde_json::json!({"text": QUIC_DRAFT, "limit": 5, "min_score": -1.0}).to_string();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let res = client
            .post("/api/recommend")
            .header(ContentType::JSON)
            .body(ask.clone())
            .dispatch()
            .await;
        answers.push(res.into_json::<Value>().await.unwrap());
    }
    assert_eq!(answers[0], answers[1]);

    // The literature review: ranked works cited by several similar documents.
    let ask = serde_json::json!({"text": QUIC_DRAFT, "limit": 10, "min_score": -1.0}).to_string();
    let res = client
        .post("/api/lit-review")
        .header(ContentType::JSON)
        .body(ask)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let body: Value = res.into_json().await.unwrap();
    assert_eq!(body["results"].as_array().unwrap().len(), 10);
    let works = body["cited_works"].as_array().unwrap();
    assert!(!works.is_empty(), "QUIC documents cite each other: {body}");
    let weights: Vec<f64> = works
        .iter()
        .map(|w| w["weight"].as_f64().unwrap())
        .collect();
    assert!(weights.windows(2).all(|w| w[0] >= w[1]), "{weights:?}");
    assert!(works
        .iter()
        .all(|w| w["cited_by"].as_array().unwrap().len() >= 2));
    assert!(
        works
            .iter()
            .any(|w| w["identifier"] == 9000 && w["collection_title"].is_string()),
        "RFC 9000 is cited by its companions and linked: {works:?}"
    );
    assert_eq!(
        body["citations"].as_array().unwrap().len(),
        10,
        "every reference list"
    );

    // Errors: the JSON envelope with a 4xx.
    let res = client
        .post("/api/recommend")
        .header(ContentType::Plain)
        .body("hello")
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnsupportedMediaType);
    let big = serde_json::json!({"text": "a ".repeat(3 << 20)}).to_string();
    let res = client
        .post("/api/recommend")
        .header(ContentType::JSON)
        .body(big)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::PayloadTooLarge);
    let body: Value = res.into_json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("limit"));
}

#[tokio::test]
async fn uploads_are_rate_limited_per_client() {
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let client = client_with(&db, |c| {
        c.api_rate_per_minute = 2;
        c.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    let ask = serde_json::json!({"text": QUIC_DRAFT}).to_string();
    let post = |ip: &'static str| {
        client
            .post("/api/recommend")
            .header(ContentType::JSON)
            .remote("127.0.0.1:4000".parse().unwrap())
            .header(Header::new("X-Forwarded-For", ip))
            .body(ask.clone())
    };
    assert_eq!(post("203.0.113.5").dispatch().await.status(), Status::Ok);
    assert_eq!(post("203.0.113.5").dispatch().await.status(), Status::Ok);
    let res = post("203.0.113.5").dispatch().await;
    assert_eq!(res.status(), Status::TooManyRequests);
    let wait: u64 = res
        .headers()
        .get_one("Retry-After")
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    let body: Value = res.into_json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("too many uploads"));
    assert_eq!(
        post("203.0.113.6").dispatch().await.status(),
        Status::Ok,
        "another client"
    );
}

/// Issue 21: the upload page leads with what the draft does not cite, says what led to each
/// (the cited document it is most like), and lists what it already cites under its own
/// heading. Issue 26: the "Why" line's separators sit between its parts only.
#[tokio::test]
async fn issue_21_the_upload_page_leads_with_what_the_draft_does_not_cite() {
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let mut cfg = AppConfig::for_tests(&db.url);
    cfg.model_path = topics_engine(&store).await;
    cfg.text_min_score = Some(0.0);
    let client = common::ready_client(cfg).await;
    let (_, form) = page(&client, "/upload/recommend/").await;
    let token = csrf_token(&form);
    let draft = "Our draft extends QUIC [RFC9000] and HTTP/3 [RFC9114] with new stream frames, \
                 loss detection and datagrams over UDP.";
    let (status, html) = post_form(
        &client,
        "/upload/recommend/",
        &[
            ("csrf_token", None, token.as_bytes()),
            ("text", None, draft.as_bytes()),
        ],
    )
    .await;
    assert_eq!(status, Status::Ok, "{html}");
    assert!(html.contains("which you cite"), "{html}");
    assert!(html.contains("class=\"why-part\""), "{html}");
    assert!(
        !html.contains("why-label\">Why:</span>\n  <span>"),
        "{html}"
    );
    let cited_heading = html.find("your text already cites");
    let first_result = html.find("class=\"result\"").expect("results");
    // The score is explained in words above the first result, not only in a tooltip.
    let legend = html
        .find("how likely a text like yours is to cite the document")
        .expect("the score's legend");
    assert!(legend < first_result, "{html}");
    if let Some(at) = cited_heading {
        assert!(first_result < at, "new results lead");
        let flagged = html
            .find("you cite this")
            .expect("the cited ones are flagged");
        assert!(flagged > at, "{html}");
    }
}

/// Issue 26: a library calling the JSON API from its catalogue is one client; its text
/// requests have their own allowance, and file uploads keep theirs.
#[tokio::test]
async fn issue_26_json_api_requests_are_not_throttled_as_uploads() {
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let client = client_with(&db, |c| {
        c.upload_rate_per_minute = 2;
        c.api_rate_per_minute = 30;
    })
    .await;
    let ask = serde_json::json!({"text": QUIC_DRAFT}).to_string();
    for i in 0..12 {
        let res = client
            .post("/api/recommend")
            .header(ContentType::JSON)
            .body(ask.clone())
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok, "JSON request {i}");
    }
    let (ct, body) = multipart(&[("file", Some("draft.txt"), QUIC_DRAFT.as_bytes())]);
    let upload = || {
        client
            .post("/api/recommend")
            .header(ContentType::parse_flexible(&ct).unwrap())
            .body(body.clone())
    };
    assert_eq!(upload().dispatch().await.status(), Status::Ok);
    assert_eq!(upload().dispatch().await.status(), Status::Ok);
    assert_eq!(
        upload().dispatch().await.status(),
        Status::TooManyRequests,
        "file uploads keep HAMLET_UPLOAD_RATE_PER_MINUTE"
    );
}

#[tokio::test]
async fn the_captcha_is_asked_when_configured() {
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let client = client_with(&db, |c| c.captcha = true).await;
    let (_, form) = page(&client, "/upload/recommend/").await;
    assert!(
        form.contains("plus") && form.contains("name=\"captcha_token\""),
        "{form}"
    );
    let token = csrf_token(&form);
    let (status, html) = post_form(
        &client,
        "/upload/recommend/",
        &[
            ("csrf_token", None, token.as_bytes()),
            ("text", None, QUIC_DRAFT.as_bytes()),
            ("captcha_answer", None, b"1000"),
            ("captcha_token", None, b"1.00"),
        ],
    )
    .await;
    assert_eq!(status, Status::BadRequest);
    assert!(html.contains("arithmetic question"), "{html}");
}

/// Requests for other host names are refused (health checks excepted); a request that
/// reached the proxy over HTTPS gets HSTS and a Secure cookie, a plain one neither.
#[tokio::test]
async fn allowed_hosts_and_https_behind_a_proxy() {
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let client = client_with(&db, |cfg| {
        cfg.allowed_hosts = "hamlet.example.org".into();
        cfg.trusted_proxies = "*".into();
    })
    .await;
    let get = |path: &'static str, host: &'static str, proto: Option<&'static str>| {
        let mut req = client
            .get(path)
            .header(Header::new("Host", host))
            .remote("10.0.0.2:40000".parse().unwrap());
        if let Some(p) = proto {
            req = req.header(Header::new("X-Forwarded-Proto", p));
        }
        req.dispatch()
    };
    let res = get("/", "evil.example", None).await;
    assert_eq!(res.status(), Status::BadRequest);
    assert!(res
        .into_string()
        .await
        .unwrap()
        .contains("does not answer for that host"));
    assert_eq!(
        get("/health/live", "10.1.2.3", None).await.status(),
        Status::Ok
    );
    assert_eq!(get("/", "localhost", None).await.status(), Status::Ok);

    let res = get("/upload/recommend/", "hamlet.example.org", Some("https")).await;
    assert_eq!(res.status(), Status::Ok);
    assert!(res
        .headers()
        .get_one("Strict-Transport-Security")
        .is_some_and(|v| v.starts_with("max-age=")));
    let cookie = res.headers().get_one("Set-Cookie").unwrap().to_string();
    assert!(cookie.contains("Secure"), "{cookie}");

    let res = get("/upload/recommend/", "hamlet.example.org", Some("http")).await;
    assert!(res.headers().get_one("Strict-Transport-Security").is_none());

    // A browser that comes over plain HTTP gets a cookie it can send back over plain HTTP.
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let plain = client_with(&db, |_| {}).await;
    let res = plain.get("/upload/recommend/").dispatch().await;
    let cookie = res.headers().get_one("Set-Cookie").unwrap().to_string();
    assert!(!cookie.contains("Secure"), "{cookie}");
}
