use super::*;

#[test]
fn stay_seconds_are_bounded() {
    assert_eq!(stay_seconds(0), Ok(0));
    assert_eq!(stay_seconds(75), Ok(75));
    assert_eq!(stay_seconds(STAY_CAP_SECS + 1), Ok(STAY_CAP_SECS));
    assert_eq!(stay_seconds(STAY_MAX_INPUT_SECS), Ok(STAY_CAP_SECS));
    assert!(stay_seconds(-1).is_err());
    assert!(stay_seconds(STAY_MAX_INPUT_SECS + 1).is_err());
}
