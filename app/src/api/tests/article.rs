use super::*;
use serde_json::Value;

/// The form a request sends carries exactly the keys and values serde gives it,
/// so the hand-written `form()` cannot drift from the type.
fn same_as_serde<T: Serialize>(req: &T, form: Vec<(&'static str, String)>) {
    let Ok(Value::Object(m)) = serde_json::to_value(req) else {
        panic!("a request serializes to an object");
    };
    let from_serde: Vec<(String, String)> = m
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect();
    let from_form: Vec<(String, String)> = form.into_iter().map(|(k, v)| (k.into(), v)).collect();
    assert_eq!(from_form, from_serde);
}

#[test]
fn request_forms_match_their_types() {
    same_as_serde(&ViewForm { uid: Some(3) }, ViewForm { uid: Some(3) }.form());
    same_as_serde(&ViewForm { uid: None }, ViewForm { uid: None }.form());
    let stay = StayForm {
        uid: 1,
        log_id: 2,
        seconds: 75,
    };
    same_as_serde(&stay, stay.form());
    for uid in [Some(9), None] {
        let r = ReviewForm {
            content: "好文".into(),
            uid,
        };
        same_as_serde(&r, r.form());
    }
    let q = RecommendQuery {
        uid: 1,
        company_id: 4,
    };
    same_as_serde(&q, q.params());
    for (uid, address) in [(Some(2), Some("北京".to_string())), (None, None)] {
        let s = SignUpForm {
            uid,
            customer_name: "张三".into(),
            phone: "13800138000".into(),
            leave_message: "来".into(),
            address,
        };
        same_as_serde(&s, s.form());
    }
}

/// Reading an answer and writing it again gives the same text: the keys, their
/// order and `null`s are the wire's.
fn round_trips<T: Serialize + serde::de::DeserializeOwned>(wire: &str) {
    let v: T = serde_json::from_str(wire).unwrap();
    assert_eq!(serde_json::to_string(&v).unwrap(), wire);
}

#[test]
fn answers_keep_the_wire_shape() {
    round_trips::<ViewedArticle>(
        r#"{"log_id":null,"read_count":3,"id":5,"company_id":1,"title":"t","summary":"s","body":"b","cover_picture":"","create_date":"2024-01-02 03:04:05","activity_id":null}"#,
    );
    round_trips::<ViewedArticle>(
        r#"{"log_id":7,"read_count":3,"id":5,"company_id":1,"title":"t","summary":"s","body":"b","cover_picture":"c","create_date":"2024-01-02 03:04:05","activity_id":2}"#,
    );
    round_trips::<StayTime>(r#"{"log_id":7,"stay_seconds":95}"#);
    round_trips::<ReviewPosted>(r#"{"id":4}"#);
    round_trips::<SignedUp>(r#"{"id":4}"#);
    round_trips::<ReviewList>(
        r#"{"ret_data":[{"id":1,"from_customer_id":2,"from_customer_name":"n","from_customer_headimgurl":"h","content":"c","create_time":"2024-01-02 03:04:05","is_audit_pass":0,"pending":true}],"data_count":1}"#,
    );
    round_trips::<RecommendList>(
        r#"{"ret_data":[{"article_id":1,"title":"t","article_url":"http://x","read_count":9,"create_date":"2024-01-02 03:04:05"}],"data_count":4}"#,
    );
}
