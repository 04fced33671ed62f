//! `radar admin company wecom|gongzhonghao` and the reps' WeCom user ids:
//! stored, validated, and the secrets never printed back.

use super::*;
use crate::both;
use crate::common::*;

async fn settings_are_stored_and_secrets_never_printed(b: Backend) {
    let db = TestDb::new(b).await;
    let company = json_line(&radar(
        &db,
        &["admin", "company", "create", "--name", "公司"],
    ));
    let cid = company["id"].as_i64().expect("id").to_string();
    let other = json_line(&radar(
        &db,
        &["admin", "company", "create", "--name", "别家"],
    ));
    let other_id = other["id"].as_i64().expect("id").to_string();
    let wecom_secret = "wecom-SECRET-4f9a7c1e2b";
    let oa_secret = "oa-SECRET-8d3e6b0a5c";

    let mut outputs = Vec::new();
    let out = radar(
        &db,
        &[
            "admin",
            "company",
            "wecom",
            "--id",
            &cid,
            "--corp-id",
            "ww1234",
            "--agent-id",
            "1000002",
            "--secret",
            wecom_secret,
        ],
    );
    assert_eq!(json_line(&out), serde_json::json!({"id": company["id"]}));
    outputs.push(out);
    // The secret from stdin (`--secret -`); a second call replaces the first.
    let out = radar_in(
        &db,
        &[
            "admin",
            "company",
            "gongzhonghao",
            "--id",
            &cid,
            "--appid",
            "wxold",
            "--secret",
            "-",
        ],
        "first-secret-value\n",
    );
    assert!(out.status.success(), "{}", printed(&out));
    outputs.push(out);
    let out = radar_in(
        &db,
        &[
            "admin",
            "company",
            "gongzhonghao",
            "--id",
            &cid,
            "--appid",
            "wxabc",
            "--secret",
            "-",
        ],
        &format!("{oa_secret}\n"),
    );
    assert_eq!(json_line(&out), serde_json::json!({"id": company["id"]}));
    outputs.push(out);

    let out = radar(
        &db,
        &[
            "admin",
            "user",
            "create",
            "--company-id",
            &cid,
            "--name",
            "张三",
            "--wecom-userid",
            "zhangsan",
        ],
    );
    let rep = json_line(&out);
    let rep_id = rep["id"].as_i64().expect("id").to_string();
    // The same WeCom user id in another company is another person.
    json_line(&radar(
        &db,
        &[
            "admin",
            "user",
            "create",
            "--company-id",
            &other_id,
            "--name",
            "张三",
            "--wecom-userid",
            "zhangsan",
        ],
    ));
    let second = json_line(&radar(
        &db,
        &[
            "admin",
            "user",
            "create",
            "--company-id",
            &cid,
            "--name",
            "李四",
        ],
    ));
    let second_id = second["id"].as_i64().expect("id").to_string();
    let out = radar(
        &db,
        &[
            "admin",
            "user",
            "update",
            "--id",
            &second_id,
            "--wecom-userid",
            "lisi",
        ],
    );
    assert_eq!(json_line(&out), serde_json::json!({"id": second["id"]}));

    // Read back what was stored.
    let st = crate::wsutil::seed_state(&db.url).await;
    let (corp, agent, secret): (String, i64, String) =
        sqlx::query_as("SELECT corp_id, agent_id, secret FROM wecom_app WHERE company_id = $1")
            .bind(company["id"].as_i64())
            .fetch_one(&st.db.pool)
            .await
            .expect("wecom_app");
    assert_eq!(
        (corp.as_str(), agent, secret.as_str()),
        ("ww1234", 1000002, wecom_secret)
    );
    let (appid, secret): (String, String) = sqlx::query_as(
        "SELECT authorization_appid, secret FROM gongzhonghao_app WHERE company_id = $1",
    )
    .bind(company["id"].as_i64())
    .fetch_one(&st.db.pool)
    .await
    .expect("gongzhonghao_app");
    assert_eq!((appid.as_str(), secret.as_str()), ("wxabc", oa_secret));
    let ids: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, wecom_userid FROM sales_user WHERE company_id = $1 ORDER BY id")
            .bind(company["id"].as_i64())
            .fetch_all(&st.db.pool)
            .await
            .expect("reps");
    assert_eq!(
        ids,
        vec![
            (rep["id"].as_i64().expect("id"), Some("zhangsan".into())),
            (second["id"].as_i64().expect("id"), Some("lisi".into())),
        ]
    );

    // Refusals: a clear message, a non-zero exit, nothing stored, no secret echoed.
    let refused = |out: &Output, needle: &str| {
        assert!(!out.status.success(), "{}", printed(out));
        assert!(out.stdout.is_empty(), "{}", printed(out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    };
    let bad_secret = "bad secret with spaces";
    let out = radar(
        &db,
        &[
            "admin",
            "company",
            "wecom",
            "--id",
            &cid,
            "--corp-id",
            "ww1234",
            "--agent-id",
            "1",
            "--secret",
            bad_secret,
        ],
    );
    refused(&out, "secret");
    outputs.push(out);
    let out = radar(
        &db,
        &[
            "admin",
            "company",
            "wecom",
            "--id",
            "999999",
            "--corp-id",
            "ww1",
            "--agent-id",
            "1",
            "--secret",
            wecom_secret,
        ],
    );
    refused(&out, "公司不存在");
    outputs.push(out);
    let out = radar(
        &db,
        &[
            "admin",
            "company",
            "wecom",
            "--id",
            &cid,
            "--corp-id",
            "ww1",
            "--agent-id",
            "0",
            "--secret",
            wecom_secret,
        ],
    );
    refused(&out, "agent_id");
    outputs.push(out);
    let out = radar(
        &db,
        &[
            "admin",
            "company",
            "gongzhonghao",
            "--id",
            &cid,
            "--appid",
            "wx\u{7f}",
            "--secret",
            oa_secret,
        ],
    );
    refused(&out, "appid");
    outputs.push(out);
    refused(
        &radar(
            &db,
            &[
                "admin",
                "user",
                "update",
                "--id",
                &second_id,
                "--wecom-userid",
                "zhangsan",
            ],
        ),
        "已绑定",
    );
    refused(
        &radar(
            &db,
            &[
                "admin",
                "user",
                "update",
                "--id",
                &rep_id,
                "--wecom-userid",
                "a b",
            ],
        ),
        "wecom_userid",
    );
    refused(
        &radar(
            &db,
            &[
                "admin",
                "user",
                "update",
                "--id",
                "999999",
                "--wecom-userid",
                "x",
            ],
        ),
        "用户不存在",
    );
    refused(
        &radar(
            &db,
            &[
                "admin",
                "user",
                "create",
                "--company-id",
                &cid,
                "--name",
                "王五",
                "--wecom-userid",
                "lisi",
            ],
        ),
        "已绑定",
    );
    let (corp, secret): (String, String) =
        sqlx::query_as("SELECT corp_id, secret FROM wecom_app WHERE company_id = $1")
            .bind(company["id"].as_i64())
            .fetch_one(&st.db.pool)
            .await
            .expect("wecom_app");
    assert_eq!((corp.as_str(), secret.as_str()), ("ww1234", wecom_secret));
    let reps: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM sales_user WHERE company_id = $1")
            .bind(company["id"].as_i64())
            .fetch_one(&st.db.pool)
            .await
            .expect("count");
    assert_eq!(reps, 2);

    for out in &outputs {
        let text = printed(out);
        for secret in [wecom_secret, oa_secret, "first-secret-value", bad_secret] {
            assert!(!text.contains(secret), "a secret was printed: {text}");
        }
    }
}

both!(settings_are_stored_and_secrets_never_printed);
