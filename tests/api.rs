//! Routes through Rocket's local client on both backends: health, the document API and its
//! error envelope, the home page, robots.txt, and unknown paths.

mod common;

use common::{import_subset, TestDb};
use hamlet::config::AppConfig;
use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::Client;
use serde_json::Value;

both_backends!(health_and_documents, errors_have_one_shape, pages_render);

async fn client(db: &TestDb) -> Client {
    import_subset(&db.store().await).await;
    Client::tracked(hamlet::rocket(AppConfig::for_tests(&db.url)))
        .await
        .expect("valid rocket")
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

#[tokio::test]
async fn a_database_that_cannot_be_opened_stops_ignition() {
    let cfg = AppConfig::for_tests("postgres://nobody@127.0.0.1:1/none");
    match Client::tracked(hamlet::rocket(cfg)).await {
        Ok(_) => panic!("ignition should fail without a database"),
        Err(e) => assert!(
            matches!(e.kind(), rocket::error::ErrorKind::FailedFairings(_)),
            "{e:?}"
        ),
    }
}
