//! The other plausible APIs, as a plain HTTP client sees them: what POST and PATCH answer, PUT
//! replacing or merging, what `null` does, a required field, and types returned as strings.

use custbulk::sandbox::{
    IdField, NullOnPatch, Options, PostAnswer, PostStatus, PutMode, UpdateAnswer, Variants,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::Api;

async fn playing(variants: Variants) -> Api {
    Api::start(Options {
        variants,
        ..Options::default()
    })
    .await
}

/// The only record in the store, as the sandbox holds it.
fn stored(api: &Api) -> Value {
    let records = api.sandbox.records();
    assert_eq!(records.len(), 1, "{records:?}");
    Value::Object(records[0].clone())
}

fn item(record: &Value) -> String {
    let id = record.get("_id").or_else(|| record.get("id")).unwrap();
    format!("/customers/{}", id.as_str().unwrap())
}

#[tokio::test]
async fn post_answers_the_record_only_its_id_an_envelope_or_nothing() {
    for (answer, id_field) in [
        (PostAnswer::Record, IdField::UnderscoreId),
        (PostAnswer::Id, IdField::UnderscoreId),
        (PostAnswer::Id, IdField::Id),
        (PostAnswer::Envelope, IdField::UnderscoreId),
        (PostAnswer::Empty, IdField::UnderscoreId),
    ] {
        let api = Api::start(Options {
            id_field,
            variants: Variants {
                post_answer: answer,
                ..Variants::default()
            },
            ..Options::default()
        })
        .await;
        let (status, body) = api.post(json!({"name": "A", "city": "Lyon"})).await;
        assert_eq!(status, StatusCode::CREATED, "{answer:?}");
        let record = stored(&api);
        let key = if id_field == IdField::Id { "id" } else { "_id" };
        let expected = match answer {
            PostAnswer::Record => record.clone(),
            PostAnswer::Id => json!({ key: record[key] }),
            PostAnswer::Envelope => json!({ "data": record }),
            PostAnswer::Empty => Value::Null,
        };
        assert_eq!(body, expected, "{answer:?} {id_field:?}");
        assert_eq!(record["city"], "Lyon", "stored whatever the answer");
    }
}

#[tokio::test]
async fn post_may_answer_200_instead_of_201() {
    let api = playing(Variants {
        post_status: PostStatus::Ok,
        ..Variants::default()
    })
    .await;
    let (status, body) = api.post(json!({"name": "A"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "A");
}

#[tokio::test]
async fn patch_and_put_answer_the_new_record_the_old_one_or_nothing() {
    for answer in [UpdateAnswer::New, UpdateAnswer::Old, UpdateAnswer::Empty] {
        let api = playing(Variants {
            patch_answer: answer,
            ..Variants::default()
        })
        .await;
        let created = api.create(json!({"name": "A", "city": "Lyon"})).await;
        let path = item(&created);
        for (method, body) in [
            (Method::PATCH, json!({"city": "Paris"})),
            (Method::PUT, json!({"name": "A", "city": "Nice"})),
        ] {
            let before = stored(&api);
            let (status, got) = api.call(method.clone(), &path, Some(&body)).await;
            let after = stored(&api);
            assert_eq!(after["city"], body["city"], "{answer:?} {method}: applied");
            match answer {
                UpdateAnswer::New => assert_eq!((status, got), (StatusCode::OK, after)),
                UpdateAnswer::Old => assert_eq!((status, got), (StatusCode::OK, before)),
                UpdateAnswer::Empty => {
                    assert_eq!((status, got), (StatusCode::NO_CONTENT, Value::Null))
                }
            }
        }
    }
}

#[tokio::test]
async fn a_merging_put_keeps_the_fields_it_leaves_out() {
    let api = playing(Variants {
        put: PutMode::Merge,
        ..Variants::default()
    })
    .await;
    let created = api
        .create(json!({"name": "A", "city": "Lyon", "street2": "Bât. B"}))
        .await;
    let (status, got) = api
        .call(Method::PUT, &item(&created), Some(&json!({"city": "Nice"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&got["name"], &got["city"], &got["street2"]),
        (&json!("A"), &json!("Nice"), &json!("Bât. B"))
    );
    assert_eq!(stored(&api), got);
}

#[tokio::test]
async fn null_on_patch_clears_is_ignored_or_is_refused_and_empty_text_is_always_stored() {
    for rule in [
        NullOnPatch::Clears,
        NullOnPatch::Ignored,
        NullOnPatch::Reject,
    ] {
        let api = playing(Variants {
            patch_null: rule,
            ..Variants::default()
        })
        .await;
        let created = api
            .create(json!({"name": "A", "city": "Lyon", "street1": "1 rue"}))
            .await;
        let path = item(&created);
        let (status, body) = api
            .call(Method::PATCH, &path, Some(&json!({"city": null})))
            .await;
        let city = stored(&api)["city"].clone();
        match rule {
            NullOnPatch::Clears => assert_eq!((status, city), (StatusCode::OK, Value::Null)),
            NullOnPatch::Ignored => assert_eq!((status, city), (StatusCode::OK, json!("Lyon"))),
            NullOnPatch::Reject => {
                assert_eq!((status, city), (StatusCode::BAD_REQUEST, json!("Lyon")));
                assert_eq!(body["errors"]["city"], "must not be null", "{body}");
            }
        }
        let (status, _) = api
            .call(Method::PATCH, &path, Some(&json!({"street1": ""})))
            .await;
        assert_eq!(status, StatusCode::OK, "{rule:?}");
        assert_eq!(stored(&api)["street1"], "", "{rule:?}: \"\" stores \"\"");
    }
}

#[tokio::test]
async fn a_required_field_is_enforced_on_post_and_replacing_put_with_422_naming_it() {
    let api = playing(Variants {
        require: vec!["siret".into()],
        ..Variants::default()
    })
    .await;
    for body in [
        json!({"name": "A"}),
        json!({"name": "A", "siret": ""}),
        json!({"name": "A", "siret": null}),
    ] {
        let (status, answer) = api.post(body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(answer["errors"]["siret"], "is required", "{answer}");
        assert!(answer["message"].as_str().unwrap().contains("siret"));
    }
    assert!(api.sandbox.records().is_empty());
    let created = api
        .create(json!({"name": "A", "siret": "73282932000074"}))
        .await;
    let path = item(&created);
    let (status, _) = api
        .call(Method::PUT, &path, Some(&json!({"name": "B"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api
        .call(Method::PATCH, &path, Some(&json!({"name": "B"})))
        .await;
    assert_eq!(status, StatusCode::OK, "a PATCH leaving it out keeps it");
}

#[tokio::test]
async fn string_types_return_capital_and_is_company_as_strings_everywhere() {
    let api = playing(Variants {
        string_types: true,
        ..Variants::default()
    })
    .await;
    let created = api
        .create(json!({"name": "A", "capital": 1000, "isCompany": true, "zipCode": "01000"}))
        .await;
    let path = item(&created);
    let (_, fetched) = api.get(&path).await;
    let (_, list) = api.get("/customers").await;
    let (_, patched) = api
        .call(Method::PATCH, &path, Some(&json!({"capital": 2000})))
        .await;
    for (what, record, capital) in [
        ("POST", &created, "1000"),
        ("GET", &fetched, "1000"),
        ("list", &list["docs"][0], "1000"),
        ("PATCH", &patched, "2000"),
    ] {
        assert_eq!(record["capital"], capital, "{what}: {record}");
        assert_eq!(record["isCompany"], "true", "{what}: {record}");
        assert_eq!(record["zipCode"], "01000", "{what}: {record}");
    }
    let (status, _) = api.post(json!({"name": "B", "capital": "1000"})).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "what it accepts is still typed"
    );
}
