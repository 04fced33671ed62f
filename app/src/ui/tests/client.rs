use super::*;
use crate::api::{ErrorData, Note};

fn refusal(code: i64, data: ErrorData) -> Refusal {
    Envelope::new(code, "请求过于频繁", data).with_note(Note::default())
}

fn wait(secs: u64) -> ErrorData {
    ErrorData::RetryAfter { retry_after: secs }
}

#[test]
fn a_rate_refusal_waits_its_retry_after() {
    let e = refusal(429, wait(3));
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
    assert_eq!(write_retry_delay_ms(&refusal(429, wait(0)), 0), Some(1000));
    assert_eq!(
        write_retry_delay_ms(&refusal(429, wait(86400)), 0),
        Some(60_000)
    );
    assert_eq!(
        write_retry_delay_ms(&refusal(429, ErrorData::default()), 0),
        Some(1000)
    );
}

#[test]
fn other_answers_are_not_retried() {
    for code in [200, 400, 402, 307, 500] {
        assert_eq!(write_retry_delay_ms(&refusal(code, wait(1)), 0), None);
    }
    let f = Failure::Refused(refusal(429, ErrorData::default()));
    assert_eq!(describe(&f), "操作过于频繁，请稍后再试");
}
