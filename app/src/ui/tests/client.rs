use super::*;
use serde_json::json;

fn env(code: i64, data: Value) -> Envelope {
    Envelope::new(code, "请求过于频繁", data)
}

#[test]
fn a_rate_refusal_waits_its_retry_after() {
    let e = env(429, json!({"retry_after": 3}));
    assert_eq!(write_retry_delay_ms(&e, 0), Some(3000));
    assert_eq!(
        write_retry_delay_ms(&e, WRITE_RETRY_ATTEMPTS - 1),
        Some(3000)
    );
    // The attempts are bounded: then the refusal is shown.
    assert_eq!(write_retry_delay_ms(&e, WRITE_RETRY_ATTEMPTS), None);
}

#[test]
fn retry_after_is_clamped_and_defaulted() {
    assert_eq!(
        write_retry_delay_ms(&env(429, json!({"retry_after": 0})), 0),
        Some(1000)
    );
    assert_eq!(
        write_retry_delay_ms(&env(429, json!({"retry_after": "2"})), 0),
        Some(2000)
    );
    assert_eq!(
        write_retry_delay_ms(&env(429, json!({"retry_after": 86400})), 0),
        Some(60_000)
    );
    assert_eq!(write_retry_delay_ms(&env(429, json!({})), 0), Some(1000));
}

#[test]
fn other_answers_are_not_retried() {
    for code in [200, 400, 402, 307, 500] {
        assert_eq!(
            write_retry_delay_ms(&env(code, json!({"retry_after": 1})), 0),
            None
        );
    }
    assert_eq!(describe(&env(429, json!({}))), "操作过于频繁，请稍后再试");
}
