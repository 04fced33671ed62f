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

#[test]
fn sign_in_is_offered_only_for_the_role_the_company_set_up() {
    let wecom = SignInOptions {
        wecom: true,
        wechat: false,
    };
    let wechat = SignInOptions {
        wecom: false,
        wechat: true,
    };
    let page = Some("/h5/article/7?uid=3&company_id=2");
    assert_eq!(
        sign_in_href(Role::Customer, 2, &wechat, page, Some(3)).as_deref(),
        Some("/auth/wechat/2/start?next=%2Fh5%2Farticle%2F7%3Fuid%3D3%26company_id%3D2&uid=3")
    );
    assert_eq!(sign_in_href(Role::Customer, 2, &wecom, page, Some(3)), None);
    assert_eq!(
        sign_in_href(Role::Rep, 2, &wecom, Some("/rep?company_id=2"), None).as_deref(),
        Some("/auth/wecom/2/start?next=%2Frep%3Fcompany_id%3D2")
    );
    assert_eq!(
        sign_in_href(Role::Rep, 2, &wechat, Some("/rep"), None),
        None
    );
    assert_eq!(
        sign_in_href(Role::Rep, 2, &SignInOptions::default(), Some("/rep"), None),
        None
    );
}

#[test]
fn sign_in_returns_only_to_a_page_of_this_site() {
    let all = SignInOptions {
        wecom: true,
        wechat: true,
    };
    let long = format!("/h5/chat?x={}", "a".repeat(600));
    for bad in [
        None,
        Some("//evil.example/x"),
        Some("https://evil.example/"),
        Some(long.as_str()),
    ] {
        // A customer has nowhere to land; a rep lands on the contact list.
        assert_eq!(sign_in_href(Role::Customer, 5, &all, bad, Some(1)), None);
        assert_eq!(
            sign_in_href(Role::Rep, 5, &all, bad, None).as_deref(),
            Some("/auth/wecom/5/start")
        );
    }
    // A non-positive rep id is left out rather than sent.
    assert_eq!(
        sign_in_href(Role::Customer, 5, &all, Some("/h5/chat"), Some(0)).as_deref(),
        Some("/auth/wechat/5/start?next=%2Fh5%2Fchat")
    );
}
