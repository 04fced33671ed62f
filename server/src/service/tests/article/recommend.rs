use super::*;

fn cfg() -> ArticleShare {
    ArticleShare {
        api_url: "http://api.zhugeyingxiao.com".into(),
        authorization_url: "http://zhugeleida.zhugeyingxiao.com".into(),
        component_appid: "wx6ba07e6ddcdc69b3".into(),
    }
}

#[test]
fn article_url_matches_the_api_doc_example_with_heads_scope() {
    // API doc 2.4, first item, with HEAD's scope=snsapi_userinfo.
    let doc = "http://zhugeleida.zhugeyingxiao.com/zhugeleida/gongzhonghao/work_gongzhonghao_auth/redirect_share_url?share_url=https%3A%2F%2Fopen.weixin.qq.com%2Fconnect%2Foauth2%2Fauthorize%3Fappid%3Dwxa77213c591897a13%26redirect_uri%3Dhttp%3A%2F%2Fapi.zhugeyingxiao.com%2Fzhugeleida%2Fgongzhonghao%2Fwork_gongzhonghao_auth%3Frelate%3Darticle_id_58%7Cpid_%7Clevel_1%7Cuid_1%7Ccompany_id_1%26response_type%3Dcode%26scope%3Dsnsapi_base%26state%3Dsnsapi_base%26component_appid%3Dwx6ba07e6ddcdc69b3%23wechat_redirect";
    let expected = doc.replace("scope%3Dsnsapi_base", "scope%3Dsnsapi_userinfo");
    assert_ne!(expected, doc);
    assert_eq!(
        article_url(&cfg(), "wxa77213c591897a13", 58, 1, 1),
        expected
    );
    // No official-account app: the appid is simply empty.
    assert!(article_url(&cfg(), "", 7, 2, 3).contains("authorize%3Fappid%3D%26redirect_uri"));
}

#[test]
fn pct_keeps_only_unreserved_bytes() {
    assert_eq!(pct("aZ09_.-~"), "aZ09_.-~");
    assert_eq!(pct(":/?=&|# "), "%3A%2F%3F%3D%26%7C%23%20");
    assert_eq!(pct("文"), "%E6%96%87");
}
